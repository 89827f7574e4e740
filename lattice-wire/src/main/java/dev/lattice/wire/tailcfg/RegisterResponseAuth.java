package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import tools.jackson.databind.JsonNode;

/** RegisterRequest.Auth. Provider and LoginName are from older clients; Oauth2Token (pre-1.66 Android) passes through untyped. Go: tailcfg.go RegisterResponseAuth. */
public record RegisterResponseAuth(
        @JsonProperty("Provider") String provider,
        @JsonProperty("LoginName") String loginName,
        @JsonProperty("Oauth2Token") JsonNode oauth2Token,
        @JsonProperty("AuthKey") String authKey // never log it
) {
}
