package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/** Home-region scoring hints: a score below 1 prefers a region, above 1 avoids it. Go: derpmap.go DERPHomeParams. */
public record DERPHomeParams(
        @JsonProperty("RegionScore") Map<Integer, Double> regionScore
) {
}
