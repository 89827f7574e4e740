package dev.lattice.agent.ipn;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * {@code lattice status --json} (tailscale's {@code ipnstate.Status}): the backend state, our addresses, our
 * own node and the peers keyed by node public key ({@code nodekey:<hex>}), sorted for stable output.
 */
public record Status(
        @JsonProperty("Version") String version,
        @JsonProperty("BackendState") BackendState backendState,
        @JsonProperty("AuthURL") String authUrl,
        @JsonProperty("TailscaleIPs") List<String> tailscaleIps,
        @JsonProperty("Self") PeerStatus self,
        @JsonProperty("Health") List<String> health,
        @JsonProperty("MagicDNSSuffix") String magicDnsSuffix,
        @JsonProperty("CurrentTailnet") Tailnet currentTailnet,
        @JsonProperty("Peer") Map<String, PeerStatus> peer,
        @JsonProperty("User") Map<String, UserProfileJson> user) {

    public record Tailnet(
            @JsonProperty("Name") String name,
            @JsonProperty("MagicDNSSuffix") String magicDnsSuffix,
            @JsonProperty("MagicDNSEnabled") boolean magicDnsEnabled) {}

    public record UserProfileJson(
            @JsonProperty("ID") long id,
            @JsonProperty("LoginName") String loginName,
            @JsonProperty("DisplayName") String displayName) {}
}
