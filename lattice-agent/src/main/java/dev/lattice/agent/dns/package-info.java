/**
 * MagicDNS: the resolver at 100.100.100.100 / fd7a:115c:a1e0::53 that answers tailnet names from the netmap and
 * forwards the rest ({@link dev.lattice.agent.dns.MagicDns}, tailscale's {@code net/dns/resolver}), and the host
 * side that points the system's resolver at it ({@link dev.lattice.agent.dns.OsDnsConfigurator}, tailscale's
 * Linux "direct" manager).
 */
package dev.lattice.agent.dns;
