package dev.lattice.crypto.key;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.AeadException;
import dev.lattice.crypto.NaclBox;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Machine, disco and challenge keys: Tailscale's text forms, validation, redaction, and the X25519 key pair. */
class KeyTypesTest {
    // RFC 7748 §6.1, Alice.
    private static final String ALICE_PRIV = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    private static final String ALICE_PUB = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

    @Test
    void publicKeysRoundTripThroughTheirTextForms() {
        assertThat(MachinePublicKey.parse("mkey:" + ALICE_PUB).toString()).isEqualTo("mkey:" + ALICE_PUB);
        assertThat(DiscoPublicKey.parse("discokey:" + ALICE_PUB).toString()).isEqualTo("discokey:" + ALICE_PUB);
        assertThat(ChallengePublicKey.parse("chalpub:" + ALICE_PUB).toString()).isEqualTo("chalpub:" + ALICE_PUB);
        assertThat(MachinePublicKey.fromHex(ALICE_PUB)).isEqualTo(MachinePublicKey.parse("mkey:" + ALICE_PUB));
        assertThat(MachinePublicKey.parse("mkey:" + ALICE_PUB).toHex()).isEqualTo(ALICE_PUB);
    }

    @Test
    void privateKeysRoundTripThroughTheSecretTextForm() {
        assertThat(MachinePrivateKey.parse("privkey:" + ALICE_PRIV).toText()).isEqualTo("privkey:" + ALICE_PRIV);
        assertThat(DiscoPrivateKey.parse("privkey:" + ALICE_PRIV).toText()).isEqualTo("privkey:" + ALICE_PRIV);
        assertThat(MachinePrivateKey.fromHex(ALICE_PRIV).toHex()).isEqualTo(ALICE_PRIV);
    }

    @Test
    void knownPrivateToPublicPair() {
        assertThat(MachinePrivateKey.fromHex(ALICE_PRIV).publicKey()).isEqualTo(MachinePublicKey.fromHex(ALICE_PUB));
        assertThat(DiscoPrivateKey.fromHex(ALICE_PRIV).publicKey()).isEqualTo(DiscoPublicKey.fromHex(ALICE_PUB));
    }

    @Test
    void privateToStringNeverContainsTheKey() {
        MachinePrivateKey m = MachinePrivateKey.fromHex(ALICE_PRIV);
        DiscoPrivateKey d = DiscoPrivateKey.fromHex(ALICE_PRIV);
        assertThat(m.toString()).isEqualTo("MachinePrivateKey[redacted]").doesNotContain(ALICE_PRIV.substring(0, 8));
        assertThat(d.toString()).isEqualTo("DiscoPrivateKey[redacted]").doesNotContain(ALICE_PRIV.substring(0, 8));
        assertThat(String.valueOf(java.util.List.of(m, d))).doesNotContain(ALICE_PRIV.substring(0, 8));
    }

    @Test
    void rejectsWrongPrefixWithAClearMessage() {
        assertRejects(MachinePublicKey::parse, "nodekey:" + ALICE_PUB, "machine public key must start with \"mkey:\"");
        assertRejects(DiscoPublicKey::parse, "mkey:" + ALICE_PUB, "disco public key must start with \"discokey:\"");
        assertRejects(ChallengePublicKey::parse, ALICE_PUB, "challenge public key must start with \"chalpub:\"");
        assertRejects(MachinePrivateKey::parse, "mkey:" + ALICE_PRIV, "machine private key must start with \"privkey:\"");
        assertRejects(DiscoPrivateKey::parse, null, "disco private key must start with \"privkey:\"");
    }

    @Test
    void rejectsWrongLengthWithAClearMessage() {
        assertRejects(MachinePublicKey::parse, "mkey:" + ALICE_PUB.substring(2), "machine public key must be 64 hex digits");
        assertRejects(DiscoPublicKey::parse, "discokey:" + ALICE_PUB + "00", "disco public key must be 64 hex digits");
        assertRejects(MachinePrivateKey::parse, "privkey:", "machine private key must be 64 hex digits");
        assertThatThrownBy(() -> new DiscoPublicKey(new byte[31]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("disco public key must be 32 bytes");
    }

    @Test
    void rejectsNonHexWithAClearMessage() {
        String bad = "zz" + ALICE_PUB.substring(2);
        assertRejects(MachinePublicKey::parse, "mkey:" + bad, "machine public key is not valid hex");
        assertRejects(ChallengePublicKey::parse, "chalpub:" + bad, "challenge public key is not valid hex");
        assertRejects(DiscoPrivateKey::parse, "privkey:" + bad, "disco private key is not valid hex");
    }

    @Test
    void generatedKeysAreFreshClampedAndDerivePublicKeys() {
        MachinePrivateKey a = MachinePrivateKey.generate();
        MachinePrivateKey b = MachinePrivateKey.generate();
        assertThat(a).isNotEqualTo(b);
        byte[] raw = a.raw();
        assertThat(raw[0] & 7).isZero();
        assertThat(raw[31] & 0xc0).isEqualTo(0x40);
        assertThat(a.publicKey()).isEqualTo(MachinePrivateKey.fromHex(a.toHex()).publicKey());
        assertThat(DiscoPrivateKey.generate().publicKey().isZero()).isFalse();
    }

    @Test
    void recordsCopyDefensivelyAndCompareByValue() {
        byte[] raw = MachinePublicKey.fromHex(ALICE_PUB).raw();
        MachinePublicKey k = new MachinePublicKey(raw);
        raw[0] ^= 1;
        assertThat(k.toHex()).isEqualTo(ALICE_PUB);
        k.raw()[0] ^= 1;
        assertThat(k.toHex()).isEqualTo(ALICE_PUB);
        assertThat(k).isEqualTo(MachinePublicKey.fromHex(ALICE_PUB)).hasSameHashCodeAs(MachinePublicKey.fromHex(ALICE_PUB));
        // Same bytes, different key types: not equal.
        assertThat((Object) k).isNotEqualTo(DiscoPublicKey.fromHex(ALICE_PUB));
        byte[] dst = new byte[40];
        k.copyTo(dst, 8);
        assertThat(java.util.Arrays.copyOfRange(dst, 8, 40)).isEqualTo(k.raw());
    }

    @Test
    void discoKeysAgreeOnANaclBoxKey() throws AeadException {
        DiscoPrivateKey a = DiscoPrivateKey.generate();
        DiscoPrivateKey b = DiscoPrivateKey.generate();
        byte[] nonce = new byte[NaclBox.NONCE_LEN];
        byte[] box = a.shared(b.publicKey()).seal("ping".getBytes(), nonce);
        assertThat(b.shared(a.publicKey()).open(box, nonce)).isEqualTo("ping".getBytes());
    }

    private static void assertRejects(Function<String, ?> parse, String text, String message) {
        assertThatThrownBy(() -> parse.apply(text)).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void hexIsLowerCaseTwoDigitsPerByteForAnyBytes() {
        java.util.Random rnd = new java.util.Random(11);
        for (int i = 0; i < 2000; i++) {
            byte[] raw = new byte[32];
            rnd.nextBytes(raw);
            String hex = new NodePublicKey(raw).toHex();
            assertThat(hex).isEqualTo(java.util.HexFormat.of().formatHex(raw));
            assertThat(NodePublicKey.fromHex(hex)).isEqualTo(new NodePublicKey(raw));
        }
    }
}
