package dev.lattice.wireguard.device;

import dev.lattice.wire.ip.TcpCoalescer;
import dev.lattice.wire.ip.TcpSegmenter;
import dev.lattice.wire.ip.VirtioNetHdr;

/**
 * Runs the data path's compute on throwaway packets at device start, so the JIT has compiled it before the
 * first transfer: the cipher (and its ChaCha20/Poly1305 intrinsics), the TSO split, the GRO merge and the
 * checksums. Without it the first seconds of a transfer run them interpreted, their compilation queued behind
 * the rest of start-up's. Costs about 0.2 s of CPU on its thread (and the JIT's work, which the first transfer
 * would cause anyway), once.
 */
final class WarmUp {
    static final int CIPHER_ROUNDS = 6_000;
    static final int OFFLOAD_ROUNDS = 100;

    private WarmUp() {}

    static void run() {
        TransportCipher.warmUp(CIPHER_ROUNDS);
        offload(OFFLOAD_ROUNDS);
    }

    /** Splits a 64 KB TCP super-packet into segments and merges them back, as a bulk transfer does. */
    static int offload(int rounds) {
        int mss = 1380;
        byte[] sp = tcpPacket(1, 2, 64_000);
        VirtioNetHdr h = new VirtioNetHdr(VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 40, mss, 20, 16);
        byte[][] segs = new byte[64][Device.HEADROOM + 40 + mss + 96];
        int[] lens = new int[64];
        TcpCoalescer gro = new TcpCoalescer();
        int merged = 0;
        try {
            for (int r = 0; r < rounds; r++) {
                int n = TcpSegmenter.split(h, sp, 0, sp.length, segs, Device.HEADROOM, lens);
                for (int i = 0; i < n; i++) {
                    if (!TcpCoalescer.isCandidate(segs[i], Device.HEADROOM, lens[i])) continue;
                    if (!gro.tryAppend(segs[i], Device.HEADROOM, lens[i])) {
                        gro.flush();
                        gro.tryAppend(segs[i], Device.HEADROOM, lens[i]);
                    }
                    merged++;
                }
                if (!gro.isEmpty()) gro.flush();
            }
        } catch (TcpSegmenter.MalformedException e) {
            throw new IllegalStateException("warm-up packet refused", e);
        }
        return merged;
    }

    /**
     * An IPv4 TCP ACK carrying {@code payload} bytes, 10.255.0.{@code self}:49152 to 10.255.0.{@code peer}:5201, as a TSO
     * TUN gives it (checksums left to the offload).
     */
    static byte[] tcpPacket(int self, int peer, int payload) {
        return tcpPacket(self, peer, payload, false);
    }

    /**
     * As {@link #tcpPacket(int, int, int)}; {@code likeLinux}: as Linux's TCP sends bulk data, with the timestamp
     * option (a 32-byte TCP header) and PSH set, the shape real transfers have, so that a warm-up taking both shapes
     * leaves no branch of the header parsing, the segmenter and the merge untaken.
     */
    static byte[] tcpPacket(int self, int peer, int payload, boolean likeLinux) {
        int tcph = likeLinux ? 32 : 20;
        byte[] p = new byte[20 + tcph + payload];
        p[0] = 0x45;
        p[2] = (byte) (p.length >>> 8);
        p[3] = (byte) p.length;
        p[6] = 0x40; // DF
        p[8] = 64;
        p[9] = 6;
        p[12] = 10;
        p[13] = (byte) 255;
        p[15] = (byte) self;
        p[16] = 10;
        p[17] = (byte) 255;
        p[19] = (byte) peer;
        p[20] = (byte) 0xc0;
        p[22] = 0x14;
        p[23] = 0x51;
        p[32] = (byte) ((tcph / 4) << 4); // data offset in words
        p[33] = (byte) (likeLinux ? 0x18 : 0x10); // PSH|ACK, or ACK
        p[34] = (byte) 0xff;
        if (likeLinux) { // NOP, NOP, timestamps (kind 8, length 10, TSval, TSecr)
            p[40] = 1;
            p[41] = 1;
            p[42] = 8;
            p[43] = 10;
            p[47] = 7;
            p[51] = 3;
        }
        for (int i = 20 + tcph; i < p.length; i++) p[i] = (byte) (i * 31);
        return p;
    }
}
