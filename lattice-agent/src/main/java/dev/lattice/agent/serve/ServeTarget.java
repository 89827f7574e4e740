package dev.lattice.agent.serve;

import java.net.URI;
import java.util.Set;

/**
 * A {@code lattice serve} target as the CLI takes it (tailscale's {@code expandProxyTargetValue}): a port,
 * {@code localhost:PORT}, {@code http://127.0.0.1:PORT[/path]}, {@code text:TEXT} or an absolute directory for
 * web handlers; a port, {@code localhost:PORT} or {@code tcp://localhost:PORT} for TCP forwarding. Only local
 * targets are taken, as tailscale's CLI does.
 */
public final class ServeTarget {
    private static final Set<String> LOCAL = Set.of("localhost", "127.0.0.1", "[::1]", "::1");
    static final String WANT_WEB = "want a port, localhost:PORT, http://127.0.0.1:PORT[/path], text:TEXT or /absolute/dir";

    private ServeTarget() {}

    /** The web handler {@code target} names. @throws IllegalArgumentException one line, naming the target */
    public static ServeConfig.HttpHandler web(String target) {
        if (target == null || target.isEmpty()) throw new IllegalArgumentException("missing target; " + WANT_WEB);
        if (target.startsWith("text:")) {
            String t = target.substring("text:".length());
            if (t.isEmpty()) throw new IllegalArgumentException("invalid target \"text:\": the text is empty");
            return ServeConfig.HttpHandler.ofText(t);
        }
        if (target.startsWith("/")) return new ServeConfig.HttpHandler(target, null, null);
        String url;
        if (isPort(target)) url = "http://127.0.0.1:" + target;
        else if (target.contains("://")) url = target;
        else url = "http://" + target;
        URI u;
        try {
            u = ServeValidation.proxyUri(url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid target \"" + target + "\": " + WANT_WEB);
        }
        if (!LOCAL.contains(u.getHost())) {
            throw new IllegalArgumentException("invalid target \"" + target + "\": only localhost or 127.0.0.1 proxies are currently supported");
        }
        return ServeConfig.HttpHandler.ofProxy(url);
    }

    /** The {@code host:port} a TCP forward to {@code target} dials. */
    public static String tcp(String target) {
        String want = "want a port, localhost:PORT or tcp://localhost:PORT";
        if (target == null || target.isEmpty()) throw new IllegalArgumentException("missing target; " + want);
        String t = target.startsWith("tcp://") ? target.substring("tcp://".length()) : target;
        if (isPort(t)) return "127.0.0.1:" + t;
        int colon = t.lastIndexOf(':');
        if (colon <= 0 || !isPort(t.substring(colon + 1)) || t.contains("/")) {
            throw new IllegalArgumentException("invalid target \"" + target + "\": " + want);
        }
        if (!LOCAL.contains(t.substring(0, colon))) {
            throw new IllegalArgumentException("invalid target \"" + target + "\": only localhost or 127.0.0.1 targets are currently supported");
        }
        return t;
    }

    private static boolean isPort(String s) {
        if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(Character::isDigit)) return false;
        int p = Integer.parseInt(s);
        return p >= 1 && p <= 65535;
    }
}
