package dev.lattice.wireguard.device;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/** WireGuard's protocol constants (whitepaper §6.1, wireguard-go {@code device/constants.go}), in nanoseconds. */
final class Protocol {
    static final long SECOND = 1_000_000_000L;
    static final long REKEY_AFTER_MESSAGES = 1L << 60;
    /** 2^64 - 2^13 - 1, as an unsigned value. */
    static final long REJECT_AFTER_MESSAGES = -(1L << 13) - 1;
    static final long REKEY_AFTER_TIME = 120 * SECOND;
    static final long REKEY_ATTEMPT_TIME = 90 * SECOND;
    static final long REKEY_TIMEOUT = 5 * SECOND;
    static final int MAX_TIMER_HANDSHAKES = 90 / 5;
    static final int REKEY_TIMEOUT_JITTER_MAX_MS = 334;
    static final long REJECT_AFTER_TIME = 180 * SECOND;
    static final long KEEPALIVE_TIMEOUT = 10 * SECOND;
    static final long HANDSHAKE_INITIATION_RATE = SECOND / 50;
    static final long UNDER_LOAD_AFTER_TIME = SECOND;

    static final byte[] PROLOGUE = "WireGuard v1 zx2c4 Jason@zx2c4.com".getBytes(StandardCharsets.US_ASCII);

    private Protocol() {}

    static long jitter() {
        return ThreadLocalRandom.current().nextInt(REKEY_TIMEOUT_JITTER_MAX_MS) * 1_000_000L;
    }
}
