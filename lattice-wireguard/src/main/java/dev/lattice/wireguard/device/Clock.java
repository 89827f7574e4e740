package dev.lattice.wireguard.device;

/** Time source for protocol timers and key ages, so tests can run the clock. */
public interface Clock {
    Clock SYSTEM = new Clock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public long epochNanos() {
            java.time.Instant i = java.time.Instant.now();
            return i.getEpochSecond() * 1_000_000_000L + i.getNano();
        }
    };

    /** Monotonic nanoseconds for durations. */
    long nanoTime();

    /** Wall-clock nanoseconds since 1970 for handshake timestamps and "latest handshake". */
    long epochNanos();
}
