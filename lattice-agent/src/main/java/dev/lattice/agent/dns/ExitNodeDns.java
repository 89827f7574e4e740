package dev.lattice.agent.dns;

import java.net.URI;

/**
 * What the exit node in use means for DNS (the exit-node part of tailscale's {@code dnsConfigForNetmap}).
 *
 * @param selected whether an exit node is selected at all (even one that is offline or missing from the netmap)
 * @param doh the exit node's DoH proxy ({@code http://<its tailnet IP>:<peer API port>/dns-query}) when it offers
 *     one (tailscale's {@code exitNodeCanProxyDNS}); null when it does not or none is selected
 */
public record ExitNodeDns(boolean selected, URI doh) {
    /** No exit node: DNS as the netmap says. */
    public static final ExitNodeDns NONE = new ExitNodeDns(false, null);

    public ExitNodeDns {
        if (doh != null && !selected) throw new IllegalArgumentException("a DoH proxy without an exit node");
        if (doh != null) new Upstream.Doh(doh); // validates the URL
    }

    /** An exit node that proxies DNS at {@code doh}: non-tailnet names go there. */
    public static ExitNodeDns proxiedBy(URI doh) {
        return new ExitNodeDns(true, doh);
    }

    /** An exit node that cannot proxy DNS (too old, no peer API, not in the netmap): the fallback resolvers serve. */
    public static ExitNodeDns withoutProxy() {
        return new ExitNodeDns(true, null);
    }
}
