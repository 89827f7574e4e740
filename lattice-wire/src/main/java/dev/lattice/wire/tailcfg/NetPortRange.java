package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;

/** A destination of a FilterRule: an IP/CIDR/range/"*" and a port range. Go: tailcfg.go NetPortRange. */
public record NetPortRange(
        @JsonProperty("IP") String ip,
        @JsonProperty("Bits") Integer bits, // deprecated
        @JsonProperty("Ports") PortRange ports
) {
}
