package dev.lattice.agent.dns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

/** Points the host's resolver at MagicDNS and back (tailscale's {@code dns.OSConfigurator}). */
public interface DnsConfigurator {
    /** Makes {@code nameservers} the host's resolvers, with {@code searchDomains}. */
    void apply(List<InetAddress> nameservers, List<String> searchDomains) throws IOException;

    /** Puts our configuration back if someone else replaced it; true if it had to. */
    boolean reapplyIfTrampled() throws IOException;

    /** Restores what the host had before {@link #apply}. */
    void restore() throws IOException;

    /** The resolvers the host used before we took over (MagicDNS forwards other names to them). */
    List<InetSocketAddress> originalNameservers() throws IOException;
}
