/**
 * The engine (tailscale's {@code wgengine} + {@code wgcfg/nmcfg}): turns each network map into WireGuard peers,
 * magic-socket peers, packet filter, MagicDNS config and host routes, touching only what changed.
 */
package dev.lattice.agent.engine;
