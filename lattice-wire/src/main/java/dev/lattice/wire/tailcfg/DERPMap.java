package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/** The DERP relay regions a client may use. In a MapResponse, null = unchanged. Go: derpmap.go DERPMap. */
public record DERPMap(
        @JsonProperty("HomeParams") DERPHomeParams homeParams,
        @JsonProperty("Regions") Map<Integer, DERPRegion> regions, // keyed by RegionID
        @JsonProperty("omitDefaultRegions") Boolean omitDefaultRegions
) {
}
