package dev.lattice.agent.ipn;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.List;

/**
 * One node in {@link Status} (tailscale's {@code ipnstate.PeerStatus}). {@code curAddr} is the direct
 * {@code ip:port} in use ("" when relayed); {@code relay} is the DERP region code of the home/relay region;
 * {@code primaryRoutes} the subnets control made this peer the router for (omitted when none, as tailscale);
 * {@code exitNode}: this peer is the exit node in use; {@code exitNodeOption}: it offers to be one (both exit
 * routes are in its AllowedIPs, so control approved them and the policy lets us use them).
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
        @JsonProperty("ExitNode") boolean exitNode,
        @JsonProperty("ExitNodeOption") boolean exitNodeOption,
        @JsonProperty("Active") boolean active,
        @JsonProperty("KeyExpiry") Instant keyExpiry,
        @JsonProperty("Expired") boolean expired) {

    /** A copy that offers to be an exit node (or not). */
    public PeerStatus withExitNodeOption(boolean v) {
        return new PeerStatus(id, publicKey, hostName, dnsName, os, userId, tailscaleIps, allowedIps, primaryRoutes, tags,
                addrs, curAddr, relay, rxBytes, txBytes, created, lastSeen, lastHandshake, online, exitNode, v,
                active, keyExpiry, expired);
    }

    /** A copy marked as the exit node in use (or not). */
    public PeerStatus withExitNode(boolean v) {
        return new PeerStatus(id, publicKey, hostName, dnsName, os, userId, tailscaleIps, allowedIps, primaryRoutes, tags,
                addrs, curAddr, relay, rxBytes, txBytes, created, lastSeen, lastHandshake, online, v, exitNodeOption,
                active, keyExpiry, expired);
    }
}
