package dev.lattice.control.dns.authoritative;

import java.util.Locale;

/** How a query ended, as counted in {@code lattice_dns_queries_total{result}}. */
public enum Outcome {
    /** NOERROR, with answers or none (the name exists without that type). */
    ANSWERED,
    /** A name inside the zone that does not exist. */
    NXDOMAIN,
    /** A name outside the zone (no recursion), or a class other than IN. */
    REFUSED,
    /** A query we parsed but will not serve: not a QUERY opcode, not one question (NOTIMP, FORMERR). */
    ERROR,
    /** Not a DNS query at all (unparseable, or a response): dropped without a reply. */
    MALFORMED,
    /** Over its source's rate: dropped without a reply. */
    RATE_LIMITED;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
