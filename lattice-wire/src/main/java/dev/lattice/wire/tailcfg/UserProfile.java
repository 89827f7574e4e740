package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** What peers are told about a user: MapResponse.UserProfiles. Go: tailcfg.go UserProfile. */
public record UserProfile(
        @JsonProperty("ID") Long id,
        @JsonProperty("LoginName") String loginName,
        @JsonProperty("DisplayName") String displayName,
        @JsonProperty("ProfilePicURL") String profilePicUrl,
        @JsonProperty("Groups") List<String> groups
) {
}
