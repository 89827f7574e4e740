package dev.lattice.testlab;

/**
 * Whether something the lab needs is available here, and if not, why. Meant for JUnit:
 * <pre>{@code
 * Support s = Lab.support();
 * Assumptions.assumeTrue(s.available(), s.reason());
 * }</pre>
 *
 * @param available true if it can run
 * @param reason    a human-readable explanation when it cannot (empty when available)
 */
public record Support(boolean available, String reason) {
    public static final Support OK = new Support(true, "");

    public static Support missing(String reason) {
        return new Support(false, reason);
    }

    /** This, if unavailable; else {@code other}. */
    public Support and(Support other) {
        return available ? other : this;
    }
}
