package dev.lattice.wire.ip;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class TcpCoalescerTest {
    record Segments(byte[][] bufs, int[] lens, int count) {
        byte[] get(int i) {
            return Arrays.copyOfRange(bufs[i], 0, lens[i]);
        }
    }

    static Segments segments(int version, int payload, int gso, long seed) throws Exception {
        byte[] sp = TcpSegmenterTest.superPacket(version, payload, 1000, 0x18, new Random(seed));
        int iph = version == 4 ? 20 : 40;
        VirtioNetHdr h = new VirtioNetHdr(1, version == 4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6, iph + 20, gso, iph, 16);
        byte[][] out = new byte[64][2048];
        int[] lens = new int[64];
        int n = TcpSegmenter.split(h, sp, 0, sp.length, out, 0, lens);
        return new Segments(out, lens, n);
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 6})
    void inOrderSegmentsMergeIntoASuperPacketThatSplitsBackIntoTheSameSegments(int version) throws Exception {
        Segments s = segments(version, 4321, 1200, version);
        TcpCoalescer c = new TcpCoalescer();
        for (int i = 0; i < s.count(); i++) {
            byte[] seg = s.get(i);
            assertThat(TcpCoalescer.isCandidate(seg, 0, seg.length)).isTrue();
            assertThat(c.tryAppend(seg, 0, seg.length)).as("segment %d", i).isTrue();
        }
        assertThat(c.count()).isEqualTo(s.count());
        byte[] out = c.flush();
        int total = c.flushedLength;
        VirtioNetHdr h = VirtioNetHdr.parse(out, 0);
        assertThat(h.gsoType()).isEqualTo(version == 4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6);
        assertThat(h.gsoSize()).isEqualTo(1200);
        assertThat(h.flags()).isEqualTo(VirtioNetHdr.F_NEEDS_CSUM);
        assertThat(IpPacket.totalLength(out, 10, total - 10)).isEqualTo(total - 10);

        byte[][] again = new byte[64][2048];
        int[] lens = new int[64];
        int n = TcpSegmenter.split(h, out, 10, total - 10, again, 0, lens);
        assertThat(n).isEqualTo(s.count());
        for (int i = 0; i < n; i++) {
            assertThat(Arrays.copyOf(again[i], lens[i])).as("segment %d", i).isEqualTo(s.get(i));
        }
        assertThat(c.isEmpty()).isTrue();
    }

    @Test
    void aGapInSequenceNumbersOrAnotherFlowEndsTheRun() throws Exception {
        Segments s = segments(4, 4000, 1000, 1);
        TcpCoalescer c = new TcpCoalescer();
        assertThat(c.tryAppend(s.get(0), 0, s.lens()[0])).isTrue();
        assertThat(c.tryAppend(s.get(2), 0, s.lens()[2])).as("gap").isFalse();
        byte[] otherPort = s.get(1);
        otherPort[21] ^= 1;
        assertThat(c.tryAppend(otherPort, 0, otherPort.length)).as("other flow").isFalse();
        assertThat(c.tryAppend(s.get(1), 0, s.lens()[1])).isTrue();
        c.flush();
        assertThat(c.flushedLength).isEqualTo(10 + 40 + 2000);
    }

    @Test
    void aSingleSegmentIsWrittenAsAPlainPacket() throws Exception {
        Segments s = segments(4, 500, 1000, 2);
        TcpCoalescer c = new TcpCoalescer();
        c.tryAppend(s.get(0), 0, s.lens()[0]);
        byte[] out = c.flush();
        assertThat(Arrays.copyOf(out, 10)).containsOnly(0);
        assertThat(Arrays.copyOfRange(out, 10, c.flushedLength)).isEqualTo(s.get(0));
    }

    @Test
    void aSegmentWithABadChecksumIsNoCandidate() throws Exception {
        Segments s = segments(6, 2000, 1000, 3);
        byte[] seg = s.get(0);
        seg[seg.length - 1] ^= 0x40;
        assertThat(TcpCoalescer.isCandidate(seg, 0, seg.length)).isFalse();
    }

    @Test
    void randomBytesNeverBreakTheCoalescer() {
        Random rnd = new Random(11);
        TcpCoalescer c = new TcpCoalescer();
        for (int i = 0; i < 20_000; i++) {
            byte[] p = new byte[40 + rnd.nextInt(1500)];
            rnd.nextBytes(p);
            p[0] = (byte) (rnd.nextBoolean() ? 0x45 : 0x60);
            if (TcpCoalescer.isCandidate(p, 0, p.length) && !c.tryAppend(p, 0, p.length)) {
                c.flush();
                c.tryAppend(p, 0, p.length);
            }
        }
        c.flush();
    }
}
