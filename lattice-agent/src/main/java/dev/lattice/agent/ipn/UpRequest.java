package dev.lattice.agent.ipn;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * What {@code lattice up} asks for (tailscale's flags of the same names). Null fields keep the current
 * preference, except with {@code reset}, which starts from the defaults.
 */
public record UpRequest(
        @JsonProperty("LoginServer") String loginServer,
        @JsonProperty("AuthKey") String authKey,
        @JsonProperty("Hostname") String hostname,
        @JsonProperty("AdvertiseTags") List<String> advertiseTags,
        @JsonProperty("AcceptRoutes") Boolean acceptRoutes,
        @JsonProperty("AcceptDNS") Boolean acceptDns,
        @JsonProperty("Reset") boolean reset) {}
