/**
 * The packet filter (tailscale's {@code wgengine/filter}): which packets arriving from peers may reach this
 * node or the subnets (or, as an exit node, the internet) it serves, compiled from the control server's
 * {@code FilterRule}s, with a small flow cache so replies to UDP/SCTP
 * flows we started come back in. Pure code over byte arrays; no I/O.
 */
package dev.lattice.agent.filter;
