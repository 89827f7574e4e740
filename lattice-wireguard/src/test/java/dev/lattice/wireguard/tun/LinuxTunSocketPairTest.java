package dev.lattice.wireguard.tun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** A socket pair read and written as a TUN: what the start-up warm-up's throwaway devices get in place of one. */
class LinuxTunSocketPairTest {
    @Test
    void eachWriteArrivesAsOnePacketOnTheOtherEnd() throws Exception {
        LinuxTun[] pair = LinuxTun.socketPair("sp", 1280, true);
        try {
            byte[] big = new byte[60_000];
            Arrays.fill(big, (byte) 7);
            pair[1].write(big, 0, big.length);
            pair[1].write(new byte[] {1, 2, 3}, 0, 3);
            byte[] buf = new byte[70_000];
            assertThat(pair[0].read(buf, 0, buf.length, 1_000)).isEqualTo(60_000);
            assertThat(buf[59_999]).isEqualTo((byte) 7);
            assertThat(pair[0].read(buf, 0, buf.length, 1_000)).isEqualTo(3);
            assertThat(pair[0].read(buf, 0, buf.length, 50)).as("nothing left: a timeout").isZero();
        } finally {
            pair[0].close();
            pair[1].close();
        }
    }

    @Test
    void theMtuIsHeldByTheObjectAndMustBePositive() throws Exception {
        LinuxTun[] pair = LinuxTun.socketPair("sp", 1280, false);
        try {
            assertThat(pair[0].mtu()).isEqualTo(1280);
            assertThat(pair[0].vnetHdr()).isFalse();
            pair[0].setMtu(1420);
            assertThat(pair[0].mtu()).isEqualTo(1420);
            assertThatThrownBy(() -> pair[0].setMtu(0)).isInstanceOf(IllegalArgumentException.class);
            assertThat(pair[0].mtu()).as("a refused MTU leaves the old one (no interface ioctl)").isEqualTo(1420);
        } finally {
            pair[0].close();
            pair[1].close();
        }
        assertThatThrownBy(() -> LinuxTun.socketPair("sp", -1, false)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aClosedEndRefusesReadsAndWrites() throws Exception {
        LinuxTun[] pair = LinuxTun.socketPair("sp", 1280, false);
        pair[1].close();
        pair[0].close();
        assertThatThrownBy(() -> pair[0].read(new byte[10], 0, 10, 10)).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> pair[0].write(new byte[10], 0, 10)).isInstanceOf(IOException.class);
    }
}
