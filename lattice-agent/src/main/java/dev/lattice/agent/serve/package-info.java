/** Serve: latticed publishes local services on its tailnet addresses as tailscaled's {@code ipn.ServeConfig} says. */
package dev.lattice.agent.serve;
