package dev.lattice.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ConstantTimeTest {
    @Test
    void equalComparesLengthAndEveryByte() {
        assertThat(ConstantTime.equal(new byte[] {1, 2, 3}, new byte[] {1, 2, 3})).isTrue();
        assertThat(ConstantTime.equal(new byte[] {1, 2, 3}, new byte[] {1, 2, 4})).isFalse();
        assertThat(ConstantTime.equal(new byte[] {(byte) 0x80, 2, 3}, new byte[] {0, 2, 3})).isFalse();
        assertThat(ConstantTime.equal(new byte[] {1, 2}, new byte[] {1, 2, 3})).isFalse();
        assertThat(ConstantTime.equal(new byte[0], new byte[0])).isTrue();
        assertThat(ConstantTime.equal(null, new byte[0])).isFalse();
        assertThat(ConstantTime.equal(new byte[0], null)).isFalse();
    }

    @Test
    void isZeroLooksAtEveryByte() {
        assertThat(ConstantTime.isZero(new byte[32])).isTrue();
        assertThat(ConstantTime.isZero(new byte[0])).isTrue();
        byte[] b = new byte[32];
        b[31] = (byte) 0x80;
        assertThat(ConstantTime.isZero(b)).isFalse();
        b[31] = 0;
        b[0] = 1;
        assertThat(ConstantTime.isZero(b)).isFalse();
    }
}
