package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;

/** An inclusive port range; 0-65535 is every port. Go: tailcfg.go PortRange. */
public record PortRange(
        @JsonProperty("First") Integer first,
        @JsonProperty("Last") Integer last
) {

    /** Every port, as {@code "*"} means in policy. */
    public static final PortRange ANY = new PortRange(0, 65535);

}
