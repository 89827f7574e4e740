package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;

/** An identity (person or service) that owns nodes. Go: tailcfg.go User. */
public record User(
        @JsonProperty("ID") Long id,
        @JsonProperty("DisplayName") String displayName,
        @JsonProperty("ProfilePicURL") String profilePicUrl,
        @JsonProperty("Created") Instant created
) {
}
