package dev.lattice.wire.ip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ChecksumTest {
    /** RFC 1071 as written: 16-bit big-endian words, a trailing odd byte padded with zero. */
    private static int reference(byte[] b, int off, int len, long initial) {
        long s = initial;
        for (int i = 0; i + 1 < len; i += 2) s += ((b[off + i] & 0xff) << 8) | (b[off + i + 1] & 0xff);
        if ((len & 1) != 0) s += (b[off + len - 1] & 0xff) << 8;
        return Checksum.finish(s);
    }

    @Test
    void equalsTheSixteenBitSumForEveryLengthAndOffset() {
        Random rnd = new Random(15);
        byte[] b = new byte[300];
        for (int round = 0; round < 20; round++) {
            rnd.nextBytes(b);
            if (round % 4 == 0) java.util.Arrays.fill(b, (byte) 0xff); // the most carries
            if (round % 4 == 1) java.util.Arrays.fill(b, (byte) 0);
            for (int off = 0; off < 9; off++) {
                for (int len = 0; len + off <= b.length; len += 1 + rnd.nextInt(5)) {
                    long initial = rnd.nextInt(1 << 20);
                    assertThat(Checksum.finish(Checksum.sum(b, off, len, initial)))
                            .as("off %d len %d", off, len).isEqualTo(reference(b, off, len, initial));
                }
            }
        }
    }

    @Test
    void aSixtyFourKibibyteRunOfOnesFoldsCorrectly() {
        byte[] b = new byte[65535];
        java.util.Arrays.fill(b, (byte) 0xff);
        assertThat(Checksum.finish(Checksum.sum(b, 0, b.length, 0xffffffL))).isEqualTo(reference(b, 0, b.length, 0xffffffL));
    }

    @Test
    void theRfc1071Example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded), checksum 220d.
        byte[] b = {0x00, 0x01, (byte) 0xf2, 0x03, (byte) 0xf4, (byte) 0xf5, (byte) 0xf6, (byte) 0xf7};
        assertThat(Checksum.finish(Checksum.sum(b, 0, b.length, 0))).isEqualTo(0x220d);
    }

    @Test
    void aRangeOutsideTheArrayIsRefused() {
        assertThatThrownBy(() -> Checksum.sum(new byte[10], 4, 8, 0)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
