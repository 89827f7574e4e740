/**
 * The host side of the tailnet interface (tailscale's {@code wgengine/router}): addresses, routes in their own
 * policy-routed table, the nftables rules that let this node forward for peers, and the IP forwarding check.
 */
package dev.lattice.agent.router;
