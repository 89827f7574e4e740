package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.wire.ip.IpPrefix;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** Capabilities granted to the rule's sources when they talk to Dsts. Go: tailcfg.go CapGrant. */
public record CapGrant(
        @JsonProperty("Dsts") List<IpPrefix> dsts,
        @JsonProperty("Caps") List<String> caps, // deprecated: use CapMap
        @JsonProperty("CapMap") Map<String, List<JsonNode>> capMap
) {
}
