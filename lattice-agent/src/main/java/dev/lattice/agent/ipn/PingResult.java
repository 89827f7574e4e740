package dev.lattice.agent.ipn;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One disco ping (tailscale's {@code ipnstate.PingResult}): the peer answered directly from {@code endpoint}
 * ({@code ip:port}), or via the DERP region {@code derpRegionId}/{@code derpRegionCode}; or {@code err} is set.
 */
public record PingResult(
        @JsonProperty("IP") String ip,
        @JsonProperty("NodeIP") String nodeIp,
        @JsonProperty("NodeName") String nodeName,
        @JsonProperty("Err") String err,
        @JsonProperty("LatencySeconds") double latencySeconds,
        @JsonProperty("Endpoint") String endpoint,
        @JsonProperty("DERPRegionID") int derpRegionId,
        @JsonProperty("DERPRegionCode") String derpRegionCode) {

    public static PingResult error(String ip, String err) {
        return new PingResult(ip, null, null, err, 0, null, 0, null);
    }

    /** "via DERP(code)" or "via ip:port", as tailscale ping prints it. */
    public String via() {
        if (endpoint != null && !endpoint.isEmpty()) return endpoint;
        return "DERP(" + derpRegionCode + ")";
    }
}
