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
        String host = prefs.hostname() != null ? prefs.hostname() : osHostname;
        Hostinfo h = Hostinfo.empty().with("IPNVersion", version).with("OS", "linux").with("Hostname", host)
                .with("GoArch", System.getProperty("os.arch"));
        if (!prefs.advertiseTags().isEmpty()) h = h.with("RequestTags", prefs.advertiseTags());
        if (!prefs.advertiseRoutes().isEmpty()) h = h.withRoutableIps(prefs.advertisedPrefixes());
        if (prefs.shieldsUp()) h = h.with("ShieldsUp", true);
        if (!services.isEmpty()) h = h.withServices(services);
        return h;
    }
}
