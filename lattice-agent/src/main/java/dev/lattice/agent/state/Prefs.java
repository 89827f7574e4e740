package dev.lattice.agent.state;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.wire.ip.IpPrefix;
import java.util.List;

/**
 * The user's choices that survive restarts (a subset of tailscale's {@code ipn.Prefs}, with its JSON names, which
 * is also what {@code GET /localapi/v0/prefs} answers). State files written before the names followed tailscale's
 * ({@code AcceptRoutes}, {@code AcceptDNS}) still load.
 *
 * @param controlUrl the login server, e.g. {@code https://control.example.com}
 * @param hostname the hostname to register with, or null for the OS hostname
 * @param advertiseTags ACL tags requested for this node
 * @param acceptRoutes use subnet routes advertised by peers (tailscale's RouteAll)
 * @param acceptDns apply the tailnet's DNS config to the host (tailscale's CorpDNS)
 * @param wantRunning the user wants the tunnel up ({@code up}/{@code down})
 * @param loggedOut the user logged out: do not log in again by ourselves
 * @param advertiseRoutes prefixes offered to the tailnet, canonical text; 0.0.0.0/0 with ::/0 offers an exit node
 * @param exitNodeId the stable node ID of the exit node in use, or null
 * @param exitNodeIp the exit node chosen by tailnet address and not yet found in a netmap (then resolved into
 *                   {@code exitNodeId}), or null
 * @param exitNodeAllowLanAccess keep the local LAN direct while an exit node is in use
 * @param shieldsUp refuse every incoming connection
 * @param noSnat do not source-NAT traffic forwarded to advertised routes (tailscale's NoSNAT,
 *               {@code --snat-subnet-routes=false})
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Prefs(
        @JsonProperty("ControlURL") String controlUrl,
        @JsonProperty("Hostname") String hostname,
        @JsonProperty("AdvertiseTags") List<String> advertiseTags,
        @JsonProperty("RouteAll") @JsonAlias("AcceptRoutes") boolean acceptRoutes,
        @JsonProperty("CorpDNS") @JsonAlias("AcceptDNS") boolean acceptDns,
        @JsonProperty("WantRunning") boolean wantRunning,
        @JsonProperty("LoggedOut") boolean loggedOut,
        @JsonProperty("AdvertiseRoutes") List<String> advertiseRoutes,
        @JsonProperty("ExitNodeID") String exitNodeId,
        @JsonProperty("ExitNodeIP") String exitNodeIp,
        @JsonProperty("ExitNodeAllowLANAccess") boolean exitNodeAllowLanAccess,
        @JsonProperty("ShieldsUp") boolean shieldsUp,
        @JsonProperty("NoSNAT") boolean noSnat) {

    public static final String ALL_IPV4 = "0.0.0.0/0";
    public static final String ALL_IPV6 = "::/0";

    public Prefs {
        advertiseTags = advertiseTags == null ? List.of() : List.copyOf(advertiseTags);
        advertiseRoutes = advertiseRoutes == null ? List.of() : List.copyOf(advertiseRoutes);
        if (exitNodeId != null && exitNodeId.isEmpty()) exitNodeId = null;
        if (exitNodeIp != null && exitNodeIp.isEmpty()) exitNodeIp = null;
    }

    /** tailscale's defaults: no server yet, accept DNS, not running, source NAT on. */
    public static Prefs defaults() {
        return new Prefs(null, null, List.of(), false, true, false, false, List.of(), null, null, false, false, false);
    }

    /** Whether both exit routes are advertised (tailscale's AdvertisesExitNode). */
    public boolean advertisesExitNode() {
        return advertiseRoutes.contains(ALL_IPV4) && advertiseRoutes.contains(ALL_IPV6);
    }

    /** Whether an exit node is chosen, found in a netmap or not (tailscale: ExitNodeID or ExitNodeIP set). */
    public boolean usesExitNode() {
        return exitNodeId != null || exitNodeIp != null;
    }

    /** The advertised routes as prefixes (they are validated canonical text before they are saved). */
    public List<IpPrefix> advertisedPrefixes() {
        return advertiseRoutes.stream().map(IpPrefix::parse).toList();
    }

    public Prefs withControlUrl(String v) {
        return new Prefs(v, hostname, advertiseTags, acceptRoutes, acceptDns, wantRunning, loggedOut, advertiseRoutes,
                exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public Prefs withHostname(String v) {
        return new Prefs(controlUrl, v, advertiseTags, acceptRoutes, acceptDns, wantRunning, loggedOut, advertiseRoutes,
                exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public Prefs withAdvertiseTags(List<String> v) {
        return new Prefs(controlUrl, hostname, v, acceptRoutes, acceptDns, wantRunning, loggedOut, advertiseRoutes,
                exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public Prefs withAcceptRoutes(boolean v) {
        return new Prefs(controlUrl, hostname, advertiseTags, v, acceptDns, wantRunning, loggedOut, advertiseRoutes,
                exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public Prefs withAcceptDns(boolean v) {
        return new Prefs(controlUrl, hostname, advertiseTags, acceptRoutes, v, wantRunning, loggedOut, advertiseRoutes,
                exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public Prefs withWantRunning(boolean v) {
        return new Prefs(controlUrl, hostname, advertiseTags, acceptRoutes, acceptDns, v, loggedOut, advertiseRoutes,
                exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public Prefs withLoggedOut(boolean v) {
        return new Prefs(controlUrl, hostname, advertiseTags, acceptRoutes, acceptDns, wantRunning, v, advertiseRoutes,
                exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public Prefs withAdvertiseRoutes(List<String> v) {
        return new Prefs(controlUrl, hostname, advertiseTags, acceptRoutes, acceptDns, wantRunning, loggedOut, v,
                exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    /** The exit node by stable ID and/or address; both null: none. */
    public Prefs withExitNode(String id, String ip) {
        return new Prefs(controlUrl, hostname, advertiseTags, acceptRoutes, acceptDns, wantRunning, loggedOut,
                advertiseRoutes, id, ip, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public Prefs withExitNodeAllowLanAccess(boolean v) {
        return new Prefs(controlUrl, hostname, advertiseTags, acceptRoutes, acceptDns, wantRunning, loggedOut,
                advertiseRoutes, exitNodeId, exitNodeIp, v, shieldsUp, noSnat);
    }

    public Prefs withShieldsUp(boolean v) {
        return new Prefs(controlUrl, hostname, advertiseTags, acceptRoutes, acceptDns, wantRunning, loggedOut,
                advertiseRoutes, exitNodeId, exitNodeIp, exitNodeAllowLanAccess, v, noSnat);
    }

    public Prefs withNoSnat(boolean v) {
        return new Prefs(controlUrl, hostname, advertiseTags, acceptRoutes, acceptDns, wantRunning, loggedOut,
                advertiseRoutes, exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, v);
    }
}
