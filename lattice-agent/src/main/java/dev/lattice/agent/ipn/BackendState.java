package dev.lattice.agent.ipn;

/** tailscale's {@code ipn.State}, spelled as in {@code tailscale status --json}'s BackendState. */
public enum BackendState {
    NoState,
    NeedsLogin,
    NeedsMachineAuth,
    Stopped,
    Starting,
    Running
}
