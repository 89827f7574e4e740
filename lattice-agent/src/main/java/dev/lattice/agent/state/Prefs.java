package dev.lattice.agent.state;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The user's choices that survive restarts (a subset of tailscale's {@code ipn.Prefs}).
 *
 * @param controlUrl the login server, e.g. {@code https://control.example.com}
 * @param hostname the hostname to register with, or null for the OS hostname
 * @param advertiseTags ACL tags requested for this node
 * @param acceptRoutes use subnet routes advertised by peers
 * @param acceptDns apply the tailnet's DNS config to the host
 * @param wantRunning the user wants the tunnel up ({@code up}/{@code down})
 * @param loggedOut the user logged out: do not log in again by ourselves
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Prefs(
        @JsonProperty("ControlURL") String controlUrl,
        @JsonProperty("Hostname") String hostname,
        @JsonProperty("AdvertiseTags") List<String> advertiseTags,
        @JsonProperty("AcceptRoutes") boolean acceptRoutes,
        @JsonProperty("AcceptDNS") boolean acceptDns,
        @JsonProperty("WantRunning") boolean wantRunning,
        @JsonProperty("LoggedOut") boolean loggedOut) {

    public Prefs {
        advertiseTags = advertiseTags == null ? List.of() : List.copyOf(advertiseTags);
    }

    /** tailscale's defaults: no server yet, accept DNS, not running. */
    public static Prefs defaults() {
        return new Prefs(null, null, List.of(), false, true, false, false);
    }

    public Prefs withControlUrl(String v) {
        return new Prefs(v, hostname, advertiseTags, acceptRoutes, acceptDns, wantRunning, loggedOut);
    }

    public Prefs withHostname(String v) {
        return new Prefs(controlUrl, v, advertiseTags, acceptRoutes, acceptDns, wantRunning, loggedOut);
    }

    public Prefs withAdvertiseTags(List<String> v) {
        return new Prefs(controlUrl, hostname, v, acceptRoutes, acceptDns, wantRunning, loggedOut);
    }

    public Prefs withAcceptRoutes(boolean v) {
        return new Prefs(controlUrl, hostname, advertiseTags, v, acceptDns, wantRunning, loggedOut);
    }

    public Prefs withAcceptDns(boolean v) {
        return new Prefs(controlUrl, hostname, advertiseTags, acceptRoutes, v, wantRunning, loggedOut);
    }

    public Prefs withWantRunning(boolean v) {
        return new Prefs(controlUrl, hostname, advertiseTags, acceptRoutes, acceptDns, v, loggedOut);
    }

    public Prefs withLoggedOut(boolean v) {
        return new Prefs(controlUrl, hostname, advertiseTags, acceptRoutes, acceptDns, wantRunning, v);
    }
}
