/** Addresses and routes on the host for the tailnet interface (tailscale's {@code wgengine/router}), via iproute2. */
package dev.lattice.agent.router;
