package dev.lattice.control.dns.authoritative;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/** What the zone holds below its apex, read at each query. */
public interface ZoneData {
    /** The tailnet addresses of the node whose MagicDNS label is {@code label} (lower case), empty when none has it. */
    Optional<List<InetAddress>> node(String label);

    /**
     * The public addresses of the Funnel ingress when the node labelled {@code label} publishes through it (Funnel on
     * and allowed), else empty: such names answer A/AAAA with these, with or without node records.
     */
    default List<InetAddress> funnel(String label) {
        return List.of();
    }

    /** The live ACME challenge values of {@code _acme-challenge.<label>.<zone>} (lower case, no trailing dot). */
    List<String> challenges(String name);
}
