/**
 * Serve: latticed publishes local services on its tailnet addresses as tailscaled's {@code ipn.ServeConfig} says, and
 * through Funnel to the internet (connections the peer API's {@code /v0/ingress} hands over).
 */
package dev.lattice.agent.serve;
