package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;

/** How a {@link User} authenticated: the identity provider and the name it gave. Go: tailcfg.go Login. */
public record Login(
        @JsonProperty("ID") Long id, // unused by the Tailscale client
        @JsonProperty("Provider") String provider, // "google", "github", "oidc", ...
        @JsonProperty("LoginName") String loginName,
        @JsonProperty("DisplayName") String displayName,
        @JsonProperty("ProfilePicURL") String profilePicUrl
) {
}
