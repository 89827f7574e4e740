package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.crypto.key.NodePublicKey;

/** Body of {@code POST /machine/set-dns}: a TXT record for an ACME DNS-01 challenge. Go: tailcfg.go SetDNSRequest. */
public record SetDNSRequest(
        @JsonProperty("Version") Integer version,
        @JsonProperty("NodeKey") NodePublicKey nodeKey,
        @JsonProperty("Name") String name,
        @JsonProperty("Type") String type,
        @JsonProperty("Value") String value
) {
}
