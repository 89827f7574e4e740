/**
 * What the agent takes from its host, as one value handed to the backend (tailscale's {@code tsd} package): TUN,
 * UDP sockets, router, resolver configuration, clock and host facts, real on Linux and faked in tests.
 */
package dev.lattice.agent.system;
