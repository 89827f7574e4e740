package dev.lattice.control.store;

/** How a node was registered (Headscale's {@code RegisterMethod}); the store keeps a short word for each. */
public enum RegisterMethod {
    UNSPECIFIED(""),
    AUTH_KEY("authkey"),
    CLI("cli"),
    OIDC("oidc");

    private final String stored;

    RegisterMethod(String stored) {
        this.stored = stored;
    }

    /** The word in the {@code nodes.register_method} column. */
    public String stored() {
        return stored;
    }

    /** The method a stored word names; words this version does not know read as {@link #UNSPECIFIED}. */
    public static RegisterMethod ofStored(String word) {
        for (RegisterMethod m : values()) if (m.stored.equals(word)) return m;
        return UNSPECIFIED;
    }
}
