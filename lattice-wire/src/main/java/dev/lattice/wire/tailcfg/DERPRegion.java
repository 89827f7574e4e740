package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** A DERP region: one or more relays in one place. IDs 900-999 are for self-hosters. Go: derpmap.go DERPRegion. */
public record DERPRegion(
        @JsonProperty("RegionID") Integer regionId,
        @JsonProperty("RegionCode") String regionCode,
        @JsonProperty("RegionName") String regionName,
        @JsonProperty("Latitude") Double latitude,
        @JsonProperty("Longitude") Double longitude,
        @JsonProperty("Avoid") Boolean avoid, // deprecated: use NoMeasureNoHome
        @JsonProperty("NoMeasureNoHome") Boolean noMeasureNoHome,
        @JsonProperty("Nodes") List<DERPNode> nodes // in priority order
) {
}
