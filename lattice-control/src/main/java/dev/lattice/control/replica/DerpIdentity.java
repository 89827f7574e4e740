package dev.lattice.control.replica;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.derp.MeshKey;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The DERP keys of replicas on one PostgreSQL database, derived from the DERP key they share in the database
 * ({@link SharedKeys#derpKey}), so nothing is copied by hand and nothing but that one key is stored:
 * <ul>
 * <li>each replica's server key from the shared key and its DERP URL: replicas at different addresses are different
 *     servers of one region, as Tailscale's are (a mesh link to one's own URL is recognised by its key and dropped),
 *     and a replica restarted at the same URL keeps its key;</li>
 * <li>the mesh key, the same for every replica: it lets them watch each other's clients and forward packets.</li>
 * </ul>
 * Each is HMAC-SHA256 keyed with the shared key over a label, so neither reveals the shared key or the other.
 */
public final class DerpIdentity {
    private DerpIdentity() {}

    /** The DERP server key of the replica reached at {@code derpUrl}. */
    public static NodePrivateKey serverKey(NodePrivateKey shared, URI derpUrl) {
        byte[] k = hmac(shared, "lattice derp server key " + derpUrl.normalize());
        // Curve25519 clamping, as a generated key has.
        k[0] &= (byte) 248;
        k[31] = (byte) ((k[31] & 127) | 64);
        try {
            return new NodePrivateKey(k);
        } finally {
            Arrays.fill(k, (byte) 0);
        }
    }

    /** The region's mesh key. */
    public static MeshKey meshKey(NodePrivateKey shared) {
        byte[] k = hmac(shared, "lattice derp mesh key");
        try {
            return MeshKey.fromRaw(k);
        } finally {
            Arrays.fill(k, (byte) 0);
        }
    }

    private static byte[] hmac(NodePrivateKey shared, String label) {
        byte[] raw = shared.raw();
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(raw, "HmacSHA256"));
            return mac.doFinal(label.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }
}
