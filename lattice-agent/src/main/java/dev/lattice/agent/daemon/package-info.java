/**
 * {@code latticed}, the agent daemon (tailscaled's role): flags, the {@link dev.lattice.agent.daemon.LocalBackend}
 * that ties control client, engine and local API together, and its lifecycle.
 */
package dev.lattice.agent.daemon;
