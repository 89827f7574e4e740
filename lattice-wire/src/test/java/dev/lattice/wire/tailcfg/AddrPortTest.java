package dev.lattice.wire.tailcfg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.wire.ip.IpPrefix;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AddrPortTest {
    @Test
    void readsAndWritesGoNetipForms() {
        for (String s : List.of("1.2.3.4:41641", "[2001:db8::1]:0", "[fe80::1%eth0]:41641", "0.0.0.0:65535", "[::]:1")) {
            assertThat(AddrPort.parse(s).toString()).isEqualTo(s);
        }
        AddrPort z = AddrPort.parse("[fe80::1%eth0]:7");
        assertThat(z.zone()).isEqualTo("eth0");
        assertThat(z.port()).isEqualTo(7);
        assertThat(AddrPort.parse("[2001:DB8:0:0:0:0:0:1]:5").toString()).isEqualTo("[2001:db8::1]:5");
    }

    @Test
    void rejectsWhatGoRejects() {
        for (String bad : List.of("", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "::1:80", "[::1]80",
                "[1.2.3.4]:80", "[::1]:", "example.com:80", "1.2.3.4%eth0:80", "[fe80::1%]:80", "[::1]:+80", "1.2.3.4:123456")) {
            assertThatThrownBy(() -> AddrPort.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    static LongStream seeds() {
        return LongStream.range(0, 200);
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void randomAddressesRoundTrip(long seed) throws UnknownHostException {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] a = new byte[rnd.nextBoolean() ? 4 : 16];
        for (int i = 0; i < a.length; i++) a[i] = (byte) (rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(256)); // zero runs for "::"
        if (a.length == 16 && a[0] == 0 && a[10] == 0 && a[11] == 0) a[0] = 0x20; // keep out of the IPv4-mapped/compat range
        InetAddress addr = InetAddress.getByAddress(a);
        AddrPort ap = new AddrPort(addr, rnd.nextInt(65536));
        String text = ap.toString();
        assertThat(AddrPort.parse(text)).isEqualTo(ap);
        assertThat(Tailcfg.json().readValue(Tailcfg.json().writeValueAsString(ap), AddrPort.class)).isEqualTo(ap);
        assertThat(IpPrefix.parseAddress(IpPrefix.format(addr))).isEqualTo(addr);
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void randomTimesRoundTripWithTrimmedFractions(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long max = Instant.parse("9999-12-31T23:59:59Z").getEpochSecond();
        long min = Tailcfg.ZERO_TIME.getEpochSecond();
        int nanos = switch (rnd.nextInt(4)) {
            case 0 -> 0;
            case 1 -> rnd.nextInt(1000) * 1_000_000;
            default -> rnd.nextInt(1_000_000_000);
        };
        Instant t = Instant.ofEpochSecond(rnd.nextLong(min, max + 1), nanos);
        String s = Tailcfg.formatTime(t);
        assertThat(Tailcfg.parseTime(s)).isEqualTo(t);
        assertThat(s).endsWith("Z").doesNotContain(".Z");
        if (nanos == 0) assertThat(s).doesNotContain(".");
        else assertThat(s).matches(".*\\.\\d*[1-9]Z");
    }
}
