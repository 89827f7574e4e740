package dev.lattice.wire.derp;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;

/**
 * The server's reply to ClientInfo, boxed to the client key (Go's {@code derp.ServerInfo}):
 * {@code {"version":2}}, plus an advisory token bucket when the server rate-limits (0 = unspecified).
 */
@JsonPropertyOrder({"version", "TokenBucketBytesPerSecond", "TokenBucketBytesBurst"})
@JsonInclude(JsonInclude.Include.NON_DEFAULT)
public record ServerInfo(
        @JsonProperty("version") int version,
        @JsonProperty("TokenBucketBytesPerSecond") long tokenBucketBytesPerSecond,
        @JsonProperty("TokenBucketBytesBurst") long tokenBucketBytesBurst) {

    public static ServerInfo current() {
        return new ServerInfo(Derp.PROTOCOL_VERSION, 0, 0);
    }

    public byte[] seal(NodePublicKey client, NodePrivateKey server) {
        return BoxedJson.seal(this, client, server);
    }

    public static ServerInfo open(byte[] sealed, NodePublicKey server, NodePrivateKey client) {
        return BoxedJson.open(sealed, server, client, ServerInfo.class, "ServerInfo");
    }
}
