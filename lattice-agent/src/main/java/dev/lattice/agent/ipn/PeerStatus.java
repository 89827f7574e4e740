package dev.lattice.agent.ipn;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.List;

/**
 * One node in {@link Status} (tailscale's {@code ipnstate.PeerStatus}). {@code curAddr} is the direct
 * {@code ip:port} in use ("" when relayed); {@code relay} is the DERP region code of the home/relay region;
 * {@code primaryRoutes} the subnets control made this peer the router for (omitted when none, as tailscale).
 */
public record PeerStatus(
        @JsonProperty("ID") String id,
        @JsonProperty("PublicKey") String publicKey,
        @JsonProperty("HostName") String hostName,
        @JsonProperty("DNSName") String dnsName,
        @JsonProperty("OS") String os,
        @JsonProperty("UserID") long userId,
        @JsonProperty("TailscaleIPs") List<String> tailscaleIps,
        @JsonProperty("AllowedIPs") List<String> allowedIps,
        @JsonProperty("PrimaryRoutes") @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> primaryRoutes,
        @JsonProperty("Tags") List<String> tags,
        @JsonProperty("Addrs") List<String> addrs,
        @JsonProperty("CurAddr") String curAddr,
        @JsonProperty("Relay") String relay,
        @JsonProperty("RxBytes") long rxBytes,
        @JsonProperty("TxBytes") long txBytes,
        @JsonProperty("Created") Instant created,
        @JsonProperty("LastSeen") Instant lastSeen,
        @JsonProperty("LastHandshake") Instant lastHandshake,
        @JsonProperty("Online") boolean online,
        @JsonProperty("Active") boolean active,
        @JsonProperty("KeyExpiry") Instant keyExpiry,
        @JsonProperty("Expired") boolean expired) {}
