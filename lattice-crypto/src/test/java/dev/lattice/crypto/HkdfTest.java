package dev.lattice.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Noise/WireGuard HKDF against wireguard-go's device/kdf_test.go vectors (its t0, t1, t2 are our outputs 1..3). */
class HkdfTest {
    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }

    private static void check(String key, String input, String t1, String t2, String t3) {
        byte[][] three = Hkdf.derive(hex(key), hex(input), 3);
        assertThat(three[0]).isEqualTo(hex(t1));
        assertThat(three[1]).isEqualTo(hex(t2));
        assertThat(three[2]).isEqualTo(hex(t3));
        // KDF1 and KDF2 are prefixes of KDF3.
        byte[][] two = Hkdf.derive(hex(key), hex(input), 2);
        assertThat(two).hasDimensions(2, 32);
        assertThat(two[0]).isEqualTo(hex(t1));
        assertThat(two[1]).isEqualTo(hex(t2));
        assertThat(Hkdf.derive(hex(key), hex(input), 1)[0]).isEqualTo(hex(t1));
    }

    @Test
    void wireguardGoVectors() {
        check("746573742d6b6579", "746573742d696e707574",
                "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
                "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
                "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24");
        check("776972656775617264", "776972656775617264",
                "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
                "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
                "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160");
        check("", "",
                "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
                "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
                "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e");
    }

    @Test
    void isTheSpecsConstructionFromHmac() {
        byte[] ck = new byte[32];
        byte[] input = hex("0102030405");
        byte[] t0 = Blake2s.hmac(ck, input);
        byte[] t1 = Blake2s.hmac(t0, new byte[] {1});
        byte[] t2 = Blake2s.hmac(t0, t1, new byte[] {2});
        byte[] t3 = Blake2s.hmac(t0, t2, new byte[] {3});
        assertThat(Hkdf.derive(ck, input, 3)).isEqualTo(new byte[][] {t1, t2, t3});
    }

    @Test
    void outputCountIsOneToThree() {
        assertThatThrownBy(() -> Hkdf.derive(new byte[32], new byte[0], 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Hkdf.derive(new byte[32], new byte[0], 4)).isInstanceOf(IllegalArgumentException.class);
    }
}
