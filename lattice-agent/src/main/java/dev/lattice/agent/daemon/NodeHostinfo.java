package dev.lattice.agent.daemon;

import dev.lattice.agent.state.Prefs;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.Service;
import java.util.List;

/**
 * The Hostinfo this node sends to control, built here and nowhere else (tailscale's
 * {@code applyPrefsToHostinfoLocked} plus the services the node runs): what the prefs say (hostname, requested
 * tags, the routes it offers, shields up) and the services it listens for, such as the peer API's
 * {@code peerapi4}/{@code peerapi6} ports.
 */
final class NodeHostinfo {
    private NodeHostinfo() {}

    /**
     * @param osHostname the host's own name, used when the prefs give none
     * @param services what the node serves to peers (empty: none)
     */
    static Hostinfo build(String version, Prefs prefs, String osHostname, List<Service> services) {
        return build(version, prefs, osHostname, services, dev.lattice.agent.serve.ServeConfig.EMPTY);
    }

    /**
     * @param serve the serve config: IngressEnabled when it has Funnel on for any port, WireIngress when it names
     *     Funnel only switched off (tailscale's hasIngressEnabledLocked and shouldWireInactiveIngressLocked)
     */
    static Hostinfo build(String version, Prefs prefs, String osHostname, List<Service> services,
            dev.lattice.agent.serve.ServeConfig serve) {
        String host = prefs.hostname() != null ? prefs.hostname() : osHostname;
        Hostinfo h = Hostinfo.empty().with("IPNVersion", version).with("OS", "linux").with("Hostname", host)
                .with("GoArch", System.getProperty("os.arch"));
        if (!prefs.advertiseTags().isEmpty()) h = h.with("RequestTags", prefs.advertiseTags());
        if (!prefs.advertiseRoutes().isEmpty()) h = h.withRoutableIps(prefs.advertisedPrefixes());
        if (prefs.shieldsUp()) h = h.with("ShieldsUp", true);
        if (!services.isEmpty()) h = h.withServices(services);
        boolean on = serve.allowFunnel().containsValue(Boolean.TRUE);
        if (on) h = h.with("IngressEnabled", true);
        else if (!serve.allowFunnel().isEmpty()) h = h.with("WireIngress", true);
        return h;
    }
}
