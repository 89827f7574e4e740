package dev.lattice.control.dns.authoritative;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** Per-source token buckets: a burst of twice the rate, refilled at the rate; IPv6 by /64; other sources unaffected. */
class SourceRateLimiterTest {
    static final long SECOND = 1_000_000_000L;

    static int allowed(SourceRateLimiter l, String addr, long at, int tries) {
        int ok = 0;
        for (int i = 0; i < tries; i++) if (l.tryAcquire(InetAddress.ofLiteral(addr), at)) ok++;
        return ok;
    }

    @Test
    void aBurstOfTwiceTheRateThenTheRate() {
        SourceRateLimiter l = new SourceRateLimiter(10);
        assertThat(allowed(l, "192.0.2.1", 0, 100)).isEqualTo(20);
        assertThat(allowed(l, "192.0.2.2", 0, 100)).as("another source has its own bucket").isEqualTo(20);
        assertThat(allowed(l, "192.0.2.1", SECOND / 2, 100)).isEqualTo(5);
        assertThat(allowed(l, "192.0.2.1", 10 * SECOND, 100)).as("refilled up to the burst only").isEqualTo(20);
    }

    @Test
    void ipv6SourcesShareTheirSlash64() {
        SourceRateLimiter l = new SourceRateLimiter(5);
        assertThat(allowed(l, "2001:db8:1:2::1", 0, 6)).isEqualTo(6);
        assertThat(allowed(l, "2001:db8:1:2:ffff::9", 0, 10)).isEqualTo(4);
        assertThat(allowed(l, "2001:db8:1:3::1", 0, 10)).isEqualTo(10);
    }
}
