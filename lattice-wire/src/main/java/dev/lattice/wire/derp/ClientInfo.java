package dev.lattice.wire.derp;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;

/**
 * What a client tells the server about itself, boxed to the server key in the ClientInfo frame (Go's
 * {@code derp.ClientInfo}). JSON: {@code {"meshKey":"<hex>","version":2,"CanAckPings":true,"IsProber":true,
 * "AppName":"x"}} with the mesh key, version, prober flag and app name left out when empty, as Go does.
 */
@JsonPropertyOrder({"meshKey", "version", "CanAckPings", "IsProber", "AppName"})
public record ClientInfo(
        @JsonProperty("meshKey") @JsonInclude(JsonInclude.Include.NON_EMPTY) String meshKeyHex,
        @JsonProperty("version") @JsonInclude(JsonInclude.Include.NON_DEFAULT) int version,
        @JsonProperty("CanAckPings") boolean canAckPings,
        @JsonProperty("IsProber") @JsonInclude(JsonInclude.Include.NON_DEFAULT) boolean isProber,
        @JsonProperty("AppName") @JsonInclude(JsonInclude.Include.NON_EMPTY) String appName) {

    /** A regular client of this protocol version. */
    public static ClientInfo of(MeshKey meshKey, boolean canAckPings) {
        return new ClientInfo(meshKey == null || meshKey.isZero() ? null : meshKey.toHex(), Derp.PROTOCOL_VERSION,
                canAckPings, false, null);
    }

    /** The mesh key the client presented, or null. A malformed key counts as none, as Go rejects it. */
    @JsonIgnore
    public MeshKey meshKey() {
        if (meshKeyHex == null || meshKeyHex.isEmpty()) return null;
        try {
            return MeshKey.parse(meshKeyHex);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** nonce ‖ box(JSON) from {@code client} to {@code server}: the ClientInfo frame after the client key. */
    public byte[] seal(NodePublicKey server, NodePrivateKey client) {
        return BoxedJson.seal(this, server, client);
    }

    public static ClientInfo open(byte[] sealed, NodePublicKey client, NodePrivateKey server) {
        return BoxedJson.open(sealed, client, server, ClientInfo.class, "ClientInfo");
    }

    @Override
    public String toString() {
        return "ClientInfo[mesh=" + (meshKeyHex != null && !meshKeyHex.isEmpty()) + ", version=" + version
                + ", canAckPings=" + canAckPings + ", isProber=" + isProber + ", appName=" + appName + "]";
    }
}
