package dev.lattice.agent.serve;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Checks a {@link ServeConfig} before latticed stores it, so what is stored can be served: each port does one thing,
 * each web handler has a port that speaks HTTP, each target parses, and Funnel only where the node may use it
 * ({@link FunnelAccess}) and for a port that serves.
 */
public final class ServeValidation {
    private ServeValidation() {}

    /** The shape only: Funnel entries must name a served port, whatever the node may do (the CLI's edits). */
    public static void validate(ServeConfig c) {
        validate(c, null);
    }

    /**
     * @param caps the node's own capabilities (its CapMap keys), for Funnel; null checks the shape only
     * @throws IllegalArgumentException with one line saying what is wrong
     */
    public static void validate(ServeConfig c, java.util.Set<String> caps) {
        for (Map.Entry<String, Boolean> e : c.allowFunnel().entrySet()) {
            if (!Boolean.TRUE.equals(e.getValue())) continue;
            int port = hostPort(e.getKey(), "AllowFunnel key");
            String why = caps == null ? null : FunnelAccess.check(port, caps);
            if (why != null) throw new IllegalArgumentException(why);
            ServeConfig.TcpPortHandler h = c.tcp().get(port);
            if (h == null) throw new IllegalArgumentException("AllowFunnel " + e.getKey() + ": TCP port " + port + " serves nothing");
        }
        for (Map.Entry<Integer, ServeConfig.TcpPortHandler> e : c.tcp().entrySet()) {
            int port = e.getKey();
            ServeConfig.TcpPortHandler h = e.getValue();
            if (port < 1 || port > 65535) throw new IllegalArgumentException("invalid TCP port " + port);
            if (h == null) throw new IllegalArgumentException("TCP port " + port + ": no handler");
            boolean fwd = h.tcpForward() != null && !h.tcpForward().isEmpty();
            int kinds = (h.https() ? 1 : 0) + (h.http() ? 1 : 0) + (fwd ? 1 : 0);
            if (kinds != 1) throw new IllegalArgumentException("TCP port " + port + ": want exactly one of HTTPS, HTTP or TCPForward");
            if (fwd) hostPort(h.tcpForward(), "TCP port " + port + ": TCPForward");
            if (!fwd && h.terminateTls() != null && !h.terminateTls().isEmpty()) {
                throw new IllegalArgumentException("TCP port " + port + ": TerminateTLS needs TCPForward");
            }
        }
        for (Map.Entry<String, ServeConfig.WebServerConfig> e : c.web().entrySet()) {
            int port = hostPort(e.getKey(), "Web key");
            ServeConfig.TcpPortHandler h = c.tcp().get(port);
            if (h == null || !(h.https() || h.http())) {
                throw new IllegalArgumentException("Web " + e.getKey() + ": TCP port " + port + " does not serve HTTP or HTTPS");
            }
            if (e.getValue() == null || e.getValue().handlers().isEmpty()) throw new IllegalArgumentException("Web " + e.getKey() + ": no handlers");
            for (Map.Entry<String, ServeConfig.HttpHandler> m : e.getValue().handlers().entrySet()) handler(e.getKey(), m.getKey(), m.getValue());
        }
    }

    private static void handler(String hp, String mount, ServeConfig.HttpHandler h) {
        String where = "Web " + hp + " " + mount;
        if (!mount.startsWith("/")) throw new IllegalArgumentException(where + ": mount point must start with /");
        if (h == null) throw new IllegalArgumentException(where + ": no handler");
        int kinds = (nz(h.path()) ? 1 : 0) + (nz(h.proxy()) ? 1 : 0) + (nz(h.text()) ? 1 : 0);
        if (kinds != 1) throw new IllegalArgumentException(where + ": want exactly one of Path, Proxy or Text");
        if (nz(h.proxy())) proxyUri(h.proxy());
        if (nz(h.path())) {
            Path p = Path.of(h.path());
            if (!p.isAbsolute() || !Files.isDirectory(p)) throw new IllegalArgumentException(where + ": Path " + h.path() + " is not an absolute path to a directory");
        }
    }

    /** A proxy target as a URI: {@code http://host[:port][/path]} (or https). */
    public static URI proxyUri(String proxy) {
        URI u;
        try {
            u = new URI(proxy);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("invalid proxy target \"" + proxy + "\"");
        }
        if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null || u.getPort() == 0
                || u.getPort() > 65535 || u.getRawQuery() != null || u.getRawFragment() != null || u.getRawUserInfo() != null) {
            throw new IllegalArgumentException("invalid proxy target \"" + proxy + "\": want http://host:port[/path]");
        }
        return u;
    }

    /** The port of a {@code host:port} ({@code [v6]:port}). */
    static int hostPort(String hp, String what) {
        int colon = hp == null ? -1 : hp.lastIndexOf(':');
        if (colon <= 0) throw new IllegalArgumentException(what + " \"" + hp + "\" is not host:port");
        String host = hp.substring(0, colon);
        if (host.indexOf(':') >= 0 && !(host.startsWith("[") && host.endsWith("]"))) {
            throw new IllegalArgumentException(what + " \"" + hp + "\" is not host:port");
        }
        try {
            int p = Integer.parseInt(hp.substring(colon + 1));
            if (p < 1 || p > 65535) throw new NumberFormatException();
            return p;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " \"" + hp + "\" has an invalid port");
        }
    }

    private static boolean nz(String s) {
        return s != null && !s.isEmpty();
    }
}
