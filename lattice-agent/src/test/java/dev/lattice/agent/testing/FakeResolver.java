package dev.lattice.agent.testing;

import dev.lattice.agent.dns.DnsConfigurator;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

/** The host's resolver configuration, in memory: what MagicDNS was told to take over, or nothing. */
public final class FakeResolver implements DnsConfigurator {
    public volatile List<InetAddress> nameservers = List.of();
    public volatile List<String> search = List.of();
    private final List<InetSocketAddress> original;

    public FakeResolver(List<InetSocketAddress> original) {
        this.original = List.copyOf(original);
    }

    @Override
    public void apply(List<InetAddress> ns, List<String> searchDomains) {
        nameservers = List.copyOf(ns);
        search = List.copyOf(searchDomains);
    }

    @Override
    public boolean reapplyIfTrampled() {
        return false;
    }

    @Override
    public void restore() {
        nameservers = List.of();
        search = List.of();
    }

    @Override
    public List<InetSocketAddress> originalNameservers() {
        return original;
    }
}
