package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.crypto.key.NodePublicKey;
import java.net.InetAddress;

/** A DERP server's question to its admission endpoint ({@code derper --verify-client-url}). Go: derpmap.go DERPAdmitClientRequest. */
public record DERPAdmitClientRequest(
        @JsonProperty("NodePublic") NodePublicKey nodePublic,
        @JsonProperty("Source") InetAddress source
) {
}
