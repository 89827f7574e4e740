package dev.lattice.wire.ip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TcpSegmenterTest {
    static final int TCP_HDR = 20;

    /** A TCP super-packet as a TSO-enabled TUN hands it over (checksums not filled in). */
    static byte[] superPacket(int version, int payloadLen, long seq, int flags, Random rnd) {
        int ipHdr = version == 4 ? 20 : 40;
        byte[] p = new byte[ipHdr + TCP_HDR + payloadLen];
        if (version == 4) {
            p[0] = 0x45;
            p[2] = (byte) (p.length >>> 8);
            p[3] = (byte) p.length;
            p[4] = 0x12;
            p[5] = 0x34;
            p[8] = 64;
            p[9] = 6;
            byte[] src = {10, 0, 0, 1}, dst = {10, 0, 0, 2};
            System.arraycopy(src, 0, p, 12, 4);
            System.arraycopy(dst, 0, p, 16, 4);
        } else {
            p[0] = 0x60;
            int pl = p.length - 40;
            p[4] = (byte) (pl >>> 8);
            p[5] = (byte) pl;
            p[6] = 6;
            p[7] = 64;
            p[8] = (byte) 0xfd;
            p[23] = 1;
            p[24] = (byte) 0xfd;
            p[39] = 2;
        }
        int t = ipHdr;
        p[t] = (byte) 0xc0; // src port 49152
        p[t + 2] = 0x14;    // dst port 5201
        p[t + 3] = 0x51;
        p[t + 4] = (byte) (seq >>> 24);
        p[t + 5] = (byte) (seq >>> 16);
        p[t + 6] = (byte) (seq >>> 8);
        p[t + 7] = (byte) seq;
        p[t + 12] = 0x50;
        p[t + 13] = (byte) flags;
        p[t + 14] = (byte) 0xff;
        for (int i = ipHdr + TCP_HDR; i < p.length; i++) p[i] = (byte) rnd.nextInt();
        return p;
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 6})
    void segmentsCarryTheWholePayloadWithValidChecksumsAndAdvancingSequenceNumbers(int version) throws Exception {
        Random rnd = new Random(version);
        int gso = 1000;
        byte[] sp = superPacket(version, 3500, 0xfffffc00L, 0x18 /* PSH|ACK */, rnd);
        int ipHdr = version == 4 ? 20 : 40;
        VirtioNetHdr h = new VirtioNetHdr(1, version == 4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6,
                ipHdr + TCP_HDR, gso, ipHdr, 16);
        byte[][] out = new byte[64][2048];
        int[] lens = new int[64];
        int n = TcpSegmenter.split(h, sp, 0, sp.length, out, 16, lens);

        assertThat(n).isEqualTo(4);
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        for (int i = 0; i < n; i++) {
            byte[] s = java.util.Arrays.copyOfRange(out[i], 16, 16 + lens[i]);
            assertThat(IpPacket.totalLength(s, 0, s.length)).isEqualTo(s.length);
            if (version == 4) {
                assertThat(Checksum.finish(Checksum.sum(s, 0, 20, 0))).as("IPv4 header checksum").isZero();
                assertThat(((s[4] & 0xff) << 8 | (s[5] & 0xff))).isEqualTo(0x1234 + i);
            }
            int tcpLen = s.length - ipHdr;
            long pseudo = Checksum.pseudoHeader(s, 0, version, 6, tcpLen);
            assertThat(Checksum.finish(Checksum.sum(s, ipHdr, tcpLen, pseudo))).as("TCP checksum").isZero();
            long seq = ((long) (s[ipHdr + 4] & 0xff) << 24) | ((s[ipHdr + 5] & 0xff) << 16)
                    | ((s[ipHdr + 6] & 0xff) << 8) | (s[ipHdr + 7] & 0xff);
            assertThat(seq).isEqualTo((0xfffffc00L + (long) i * gso) & 0xffffffffL);
            int flags = s[ipHdr + 13] & 0xff;
            assertThat(flags & 0x08).as("PSH only on the last segment").isEqualTo(i == n - 1 ? 0x08 : 0);
            payload.write(s, ipHdr + TCP_HDR, s.length - ipHdr - TCP_HDR);
        }
        assertThat(payload.toByteArray()).isEqualTo(java.util.Arrays.copyOfRange(sp, ipHdr + TCP_HDR, sp.length));
        assertThat(lens[n - 1]).isEqualTo(ipHdr + TCP_HDR + 500);
    }

    @Test
    void completesAPartialChecksum() throws Exception {
        byte[] p = superPacket(4, 333, 1, 0x10, new Random(1));
        long pseudo = Checksum.pseudoHeader(p, 0, 4, 6, p.length - 20);
        int partial = (int) (~Checksum.finish(pseudo) & 0xffff); // what the kernel leaves: folded, not complemented
        p[36] = (byte) (partial >>> 8);
        p[37] = (byte) partial;
        TcpSegmenter.completeChecksum(new VirtioNetHdr(1, 0, 0, 0, 20, 16), p, 0, p.length);
        assertThat(Checksum.finish(Checksum.sum(p, 20, p.length - 20, Checksum.pseudoHeader(p, 0, 4, 6, p.length - 20))))
                .isZero();
    }

    @Test
    void garbageHeadersOnlyEverFailAsMalformed() {
        Random rnd = new Random(7);
        byte[][] out = new byte[64][2048];
        int[] lens = new int[64];
        for (int i = 0; i < 20_000; i++) {
            byte[] p = new byte[rnd.nextInt(3000)];
            rnd.nextBytes(p);
            if (p.length > 0 && rnd.nextBoolean()) p[0] = (byte) (rnd.nextBoolean() ? 0x45 : 0x60);
            VirtioNetHdr h = new VirtioNetHdr(rnd.nextInt(4), rnd.nextInt(6), rnd.nextInt(200), rnd.nextInt(3000),
                    rnd.nextInt(80), rnd.nextInt(40));
            try {
                TcpSegmenter.split(h, p, 0, p.length, out, 16, lens);
            } catch (TcpSegmenter.MalformedException expected) {
                // fine
            }
            try {
                TcpSegmenter.completeChecksum(h, p, 0, p.length);
            } catch (TcpSegmenter.MalformedException expected) {
                // fine
            }
        }
    }

    @Test
    void refusesASuperPacketThatNeedsMoreSegmentsThanBuffers() {
        byte[] p = superPacket(4, 5000, 0, 0x10, new Random(3));
        VirtioNetHdr h = new VirtioNetHdr(1, VirtioNetHdr.GSO_TCPV4, 40, 100, 20, 16);
        assertThatThrownBy(() -> TcpSegmenter.split(h, p, 0, p.length, new byte[10][2048], 16, new int[10]))
                .isInstanceOf(TcpSegmenter.MalformedException.class);
    }
}
