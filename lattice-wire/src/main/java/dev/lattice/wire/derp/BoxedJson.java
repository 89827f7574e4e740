package dev.lattice.wire.derp;

import dev.lattice.crypto.AeadException;
import dev.lattice.crypto.NaclBox;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import java.security.SecureRandom;
import java.util.Arrays;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.json.JsonMapper;

/** nonce(24) ‖ NaCl box of a JSON document, as Go's {@code key.NodePrivate.SealTo/OpenFrom}. */
final class BoxedJson {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Go's encoding/json matches field names case-insensitively and ignores unknown ones; so do we. */
    static final JsonMapper JSON = JsonMapper.builder()
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    private BoxedJson() {}

    static byte[] seal(Object value, NodePublicKey to, NodePrivateKey from) {
        byte[] json = JSON.writeValueAsBytes(value);
        byte[] nonce = new byte[NaclBox.NONCE_LEN];
        RANDOM.nextBytes(nonce);
        byte[] box = NaclBox.seal(json, nonce, to.raw(), from.raw());
        byte[] out = Arrays.copyOf(nonce, nonce.length + box.length);
        System.arraycopy(box, 0, out, nonce.length, box.length);
        return out;
    }

    static <T> T open(byte[] sealed, NodePublicKey from, NodePrivateKey to, Class<T> type, String what) {
        if (sealed.length < NaclBox.NONCE_LEN + NaclBox.TAG_LEN) throw new DerpProtocolException(what + " box too short");
        byte[] nonce = Arrays.copyOf(sealed, NaclBox.NONCE_LEN);
        byte[] json;
        try {
            json = NaclBox.open(Arrays.copyOfRange(sealed, NaclBox.NONCE_LEN, sealed.length), nonce, from.raw(), to.raw());
        } catch (AeadException e) {
            throw new DerpProtocolException(what + " box does not open with the sender's key");
        }
        try {
            T v = JSON.readValue(json, type);
            if (v == null) throw new DerpProtocolException(what + " is JSON null");
            return v;
        } catch (tools.jackson.core.JacksonException e) {
            throw new DerpProtocolException(what + " is not valid JSON: " + e.getOriginalMessage());
        }
    }
}
