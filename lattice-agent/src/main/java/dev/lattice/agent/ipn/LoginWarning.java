package dev.lattice.agent.ipn;

import java.util.List;
import java.util.Optional;

/**
 * tailscale's "login-state" health warning, shown in {@link Status#health()} while a refused login leaves the
 * node logged out; {@code up} looks for it there to fail with the server's message when the refusal comes late.
 */
public final class LoginWarning {
    private static final String PREFIX = "You are logged out. The last login error was: ";

    private LoginWarning() {}

    /** The warning for a login the control server refused with {@code error}. */
    public static String of(String error) {
        return PREFIX + error;
    }

    /** The refusal a health list reports, if any. */
    public static Optional<String> errorIn(List<String> health) {
        if (health == null) return Optional.empty();
        return health.stream().filter(h -> h.startsWith(PREFIX)).map(h -> h.substring(PREFIX.length())).findFirst();
    }
}
