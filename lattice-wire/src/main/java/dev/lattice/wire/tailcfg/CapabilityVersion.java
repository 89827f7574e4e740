package dev.lattice.wire.tailcfg;

/**
 * Capability versions ({@code tailcfg.CapabilityVersion}, an int): what a client understands. Sent in
 * {@code /key?v=}, the ts2021 prologue, RegisterRequest.Version and MapRequest.Version.
 */
public final class CapabilityVersion {
    /** {@code tailcfg.CurrentCapabilityVersion} in tailscale v1.102.3. */
    public static final int CURRENT = 142;
    /** The oldest client headscale v0.29 accepts (about Tailscale v1.80). */
    public static final int MINIMUM_SUPPORTED = 113;
    /** From here on clients read Node.HomeDERP; older ones only the legacy Node.DERP string. */
    public static final int HOME_DERP = 111;

    private CapabilityVersion() {}
}
