package dev.lattice.agent.daemon;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * latticed's container mode (tailscale's {@code containerboot}): the whole configuration comes from the environment,
 * as a Kubernetes Deployment or a {@code docker run -e} gives it. Once the daemon runs, the login is a
 * {@code lattice up} with these flags, through the local API like any other, so every flag means and checks exactly
 * what it does on the command line.
 *
 * <pre>
 * LATTICE_AUTHKEY     pre-auth key                          (TS_AUTHKEY)
 * LATTICE_ROUTES      subnets to advertise, comma-separated (TS_ROUTES)
 * LATTICE_HOSTNAME    the node's name                       (TS_HOSTNAME)
 * LATTICE_STATE_DIR   keys and prefs (latticed --statedir)  (TS_STATE_DIR)
 * LATTICE_SOCKET      local API socket (latticed --socket)  (TS_SOCKET)
 * LATTICE_EXTRA_ARGS  more `lattice up` flags, e.g. --login-server=URL (TS_EXTRA_ARGS)
 * LATTICE_USERSPACE   true: userspace networking — refused: latticed needs a TUN device (TS_USERSPACE)
 * </pre>
 */
record ContainerLogin(String authKey, String routes, String hostname, List<String> extraArgs) {
    static final String AUTHKEY = "LATTICE_AUTHKEY", ROUTES = "LATTICE_ROUTES", HOSTNAME = "LATTICE_HOSTNAME",
            EXTRA_ARGS = "LATTICE_EXTRA_ARGS", USERSPACE = "LATTICE_USERSPACE";

    /** The login the environment asks for, or null when it names none (latticed then waits for `lattice up`). */
    static ContainerLogin fromEnv(Map<String, String> env) {
        String key = nonBlank(env.get(AUTHKEY));
        String routes = nonBlank(env.get(ROUTES));
        String host = nonBlank(env.get(HOSTNAME));
        String extra = nonBlank(env.get(EXTRA_ARGS));
        if (key == null && routes == null && host == null && extra == null) return null;
        return new ContainerLogin(key, routes, host, extra == null ? List.of() : List.of(extra.trim().split("\\s+")));
    }

    /**
     * Whether the environment asks for userspace networking, which Lattice does not have: the daemon refuses to
     * start with a clear line rather than half-working without a TUN.
     */
    static boolean wantsUserspace(Map<String, String> env) {
        String v = nonBlank(env.get(USERSPACE));
        return v != null && (v.equals("1") || v.equalsIgnoreCase("true"));
    }

    /** The {@code lattice} arguments for this login against the daemon listening on {@code socket}. */
    List<String> cliArgs(Path socket) {
        List<String> a = new ArrayList<>();
        a.add("--socket=" + socket);
        a.add("up");
        if (authKey != null) a.add("--authkey=" + authKey);
        if (hostname != null) a.add("--hostname=" + hostname);
        if (routes != null) a.add("--advertise-routes=" + routes);
        a.addAll(extraArgs);
        return a;
    }

    /** The arguments with the auth key hidden, for the log. */
    String describe(Path socket) {
        return String.join(" ", cliArgs(socket)).replace(authKey == null ? "\0" : authKey, "<authkey>");
    }

    @Override
    public String toString() {
        return "ContainerLogin[authKey=" + (authKey == null ? "none" : "<set>") + ", routes=" + routes + ", hostname="
                + hostname + ", extraArgs=" + extraArgs + "]";
    }

    private static String nonBlank(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }
}
