/**
 * The TUN wrapper between the host and WireGuard (tailscale's {@code net/tstun}): it applies the packet filter
 * to traffic from peers, records our outgoing flows, and answers DNS queries sent to MagicDNS
 * (100.100.100.100, fd7a:115c:a1e0::53) itself instead of handing them to WireGuard.
 */
package dev.lattice.agent.tstun;
