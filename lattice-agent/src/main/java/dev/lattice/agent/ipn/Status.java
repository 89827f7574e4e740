package dev.lattice.agent.ipn;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * {@code lattice status --json} (tailscale's {@code ipnstate.Status}): the backend state, our addresses, our
 * own node and the peers keyed by node public key ({@code nodekey:<hex>}), sorted for stable output; the exit node
 * in use, if any; the names this node may get certificates for.
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
        @JsonProperty("ExitNodeStatus") @JsonInclude(JsonInclude.Include.NON_NULL) ExitNodeStatus exitNodeStatus,
        @JsonProperty("Peer") Map<String, PeerStatus> peer,
        @JsonProperty("User") Map<String, UserProfileJson> user,
        @JsonProperty("CertDomains") @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> certDomains) {

    /** Without CertDomains (a control server that does not offer certificates). */
    public Status(String version, BackendState backendState, String authUrl, List<String> tailscaleIps, PeerStatus self,
            List<String> health, String magicDnsSuffix, Tailnet currentTailnet, ExitNodeStatus exitNodeStatus,
            Map<String, PeerStatus> peer, Map<String, UserProfileJson> user) {
        this(version, backendState, authUrl, tailscaleIps, self, health, magicDnsSuffix, currentTailnet, exitNodeStatus,
                peer, user, null);
    }

    /** The exit node in use (tailscale's ipnstate.ExitNodeStatus), when the prefs name one that is in the netmap. */
    public record ExitNodeStatus(
            @JsonProperty("ID") String id,
            @JsonProperty("Online") boolean online,
            @JsonProperty("TailscaleIPs") List<String> tailscaleIps) {}

    public record Tailnet(
            @JsonProperty("Name") String name,
            @JsonProperty("MagicDNSSuffix") String magicDnsSuffix,
            @JsonProperty("MagicDNSEnabled") boolean magicDnsEnabled) {}

    public record UserProfileJson(
            @JsonProperty("ID") long id,
            @JsonProperty("LoginName") String loginName,
            @JsonProperty("DisplayName") String displayName) {}
}
