package dev.lattice.control.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.wire.ip.IpPrefix;
import java.net.InetAddress;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link IpSet#overlaps(IpPrefix)} (a binary search) agrees with asking every address of the prefix. */
class IpSetOverlapTest {
    @Test
    void overlapsMatchesAddressByAddressOnRandomSets() throws Exception {
        Random r = new Random(7);
        for (int round = 0; round < 2000; round++) {
            IpSet.Builder b = new IpSet.Builder();
            int n = r.nextInt(6);
            for (int i = 0; i < n; i++) b.add(IpPrefix.parse("10.0.0." + r.nextInt(256) + "/32"));
            if (r.nextBoolean()) b.add(IpPrefix.parse("10.0.0." + (r.nextInt(8) * 32) + "/27"));
            IpSet set = b.build();
            int bits = 24 + r.nextInt(9);
            int base = r.nextInt(256) & (bits == 24 ? 0 : (0xff << (32 - bits)) & 0xff);
            IpPrefix p = IpPrefix.parse("10.0.0." + base + "/" + bits);
            boolean any = false;
            for (int a = base; a < base + (1 << (32 - bits)) && a < 256; a++) any |= set.contains(InetAddress.ofLiteral("10.0.0." + a));
            assertThat(set.overlaps(p)).as("%s overlaps %s", set, p).isEqualTo(any);
        }
    }

    @Test
    void familiesAreApart() {
        IpSet v4 = IpSet.of(IpPrefix.parse("0.0.0.0/0"));
        assertThat(v4.overlaps(IpPrefix.parse("::/0"))).isFalse();
        assertThat(v4.overlaps(IpPrefix.parse("10.1.0.0/16"))).isTrue();
        assertThat(IpSet.EMPTY.overlaps(IpPrefix.parse("0.0.0.0/0"))).isFalse();
    }
}
