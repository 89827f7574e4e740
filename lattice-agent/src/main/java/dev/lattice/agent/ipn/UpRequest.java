package dev.lattice.agent.ipn;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * What {@code lattice up} asks for (tailscale's flags of the same names). Null fields keep the current
 * preference, except with {@code reset}, which starts from the defaults.
 *
 * @param advertiseRoutes the routes to offer, already through {@link AdvertiseRoutes#calc} (exit routes included)
 * @param exitNodeIp the exit node's tailnet address ({@link ExitNodes#ipOfArg}), or "" for none
 * @param noSnat true for {@code --snat-subnet-routes=false}
 */
public record UpRequest(
        @JsonProperty("LoginServer") String loginServer,
        @JsonProperty("AuthKey") String authKey,
        @JsonProperty("Hostname") String hostname,
        @JsonProperty("AdvertiseTags") List<String> advertiseTags,
        @JsonProperty("AcceptRoutes") Boolean acceptRoutes,
        @JsonProperty("AcceptDNS") Boolean acceptDns,
        @JsonProperty("Reset") boolean reset,
        @JsonProperty("AdvertiseRoutes") List<String> advertiseRoutes,
        @JsonProperty("ExitNodeIP") String exitNodeIp,
        @JsonProperty("ExitNodeAllowLANAccess") Boolean exitNodeAllowLanAccess,
        @JsonProperty("ShieldsUp") Boolean shieldsUp,
        @JsonProperty("NoSNAT") Boolean noSnat) {

    /** The request of an {@code up} without any of the routing flags. */
    public UpRequest(String loginServer, String authKey, String hostname, List<String> advertiseTags, Boolean acceptRoutes,
            Boolean acceptDns, boolean reset) {
        this(loginServer, authKey, hostname, advertiseTags, acceptRoutes, acceptDns, reset, null, null, null, null, null);
    }

    /** Without the auth key: a record's own toString would put it into whatever logs this. */
    @Override
    public String toString() {
        return "UpRequest[loginServer=" + loginServer + ", authKey=" + (authKey == null ? "none" : "(hidden)") + ", hostname="
                + hostname + ", advertiseTags=" + advertiseTags + ", acceptRoutes=" + acceptRoutes + ", acceptDns=" + acceptDns
                + ", reset=" + reset + ", advertiseRoutes=" + advertiseRoutes + ", exitNodeIp=" + exitNodeIp
                + ", exitNodeAllowLanAccess=" + exitNodeAllowLanAccess + ", shieldsUp=" + shieldsUp + ", noSnat=" + noSnat + "]";
    }

    /** The prefs this up changes, other than the login server, tags and running state. */
    public MaskedPrefs prefsChange() {
        MaskedPrefs mp = new MaskedPrefs(acceptRoutes, acceptDns, hostname, advertiseRoutes, null, null,
                exitNodeAllowLanAccess, shieldsUp, noSnat);
        return exitNodeIp == null ? mp : mp.withExitNodeIp(exitNodeIp);
    }
}
