package dev.lattice.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.wire.ip.TcpCoalescer;
import dev.lattice.wire.ip.TcpSegmenter;
import dev.lattice.wire.ip.VirtioNetHdr;
import org.junit.jupiter.api.Test;

class WarmUpTest {
    @Test
    void theSyntheticFlowIsSplitAndEverySegmentMerged() {
        // 64,000 bytes in 1,380-byte segments: 47 of them, all valid TCP that the coalescer takes
        assertThat(WarmUp.offload(3)).isEqualTo(3 * 47);
    }

    /**
     * The loopback warm-up's Linux-shaped packets (timestamps, PSH, an odd length) are what a real transfer's are:
     * the segmenter splits them into valid TCP segments (the odd one last) and the merge takes every one of them back.
     */
    @Test
    void theLinuxShapedSuperPacketSplitsIntoSegmentsTheMergeTakes() throws Exception {
        int payload = LoopbackWarmUp.SUPER_PACKET - 3, mss = 1368;
        byte[] sp = WarmUp.tcpPacket(1, 2, payload, true);
        assertThat(sp[32] & 0xff).as("data offset: 8 words").isEqualTo(0x80);
        assertThat(sp[33] & 0xff).as("PSH|ACK").isEqualTo(0x18);
        VirtioNetHdr h = new VirtioNetHdr(VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 52, mss, 20, 16);
        byte[][] segs = new byte[64][Device.HEADROOM + 52 + mss + 96];
        int[] lens = new int[64];
        int n = TcpSegmenter.split(h, sp, 0, sp.length, segs, Device.HEADROOM, lens);
        assertThat(n).isEqualTo((payload + mss - 1) / mss);
        assertThat((lens[n - 1] - 52) % 2).as("the last segment's payload is odd").isEqualTo(1);
        TcpCoalescer gro = new TcpCoalescer();
        int merged = 0;
        for (int i = 0; i < n; i++) {
            assertThat(TcpCoalescer.isCandidate(segs[i], Device.HEADROOM, lens[i])).as("segment %d", i).isTrue();
            if (gro.tryAppend(segs[i], Device.HEADROOM, lens[i])) merged++;
        }
        assertThat(merged).isEqualTo(n);
        gro.flush();
        assertThat(gro.flushedLength).as("one packet again: virtio header, IP and TCP headers once, all the payload")
                .isEqualTo(VirtioNetHdr.SIZE + 52 + payload);
    }
}
