package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The answer to a DERPAdmitClientRequest. Go: derpmap.go DERPAdmitClientResponse. */
public record DERPAdmitClientResponse(
        @JsonProperty("Allow") Boolean allow
) {
}
