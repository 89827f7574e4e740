package dev.lattice.agent.serve;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The changes {@code lattice serve} makes to a {@link ServeConfig}, and the text {@code serve status} prints for
 * one, as tailscale's serve v2 CLI: a web handler on an HTTPS or HTTP port, a TCP forward (optionally with TLS
 * terminated), and turning either off. A port keeps the kind it was first given: changing it needs {@code off}
 * first, as tailscale refuses it.
 */
public final class ServeEdit {
    /** What a port serves. */
    public enum Kind {
        HTTPS("https"), HTTP("http"), TCP("tcp"), TLS_TERMINATED_TCP("tls-terminated-tcp");

        final String flag;

        Kind(String flag) {
            this.flag = flag;
        }

        public String flag() {
            return flag;
        }

        boolean web() {
            return this == HTTPS || this == HTTP;
        }
    }

    private ServeEdit() {}

    /** {@code c} with {@code target} served on {@code port} (at {@code mount} for web kinds) under {@code host}. */
    public static ServeConfig add(ServeConfig c, String host, Kind kind, int port, String mount, String target) {
        if (port < 1 || port > 65535) throw new IllegalArgumentException("invalid port " + port);
        Map<Integer, ServeConfig.TcpPortHandler> tcp = new LinkedHashMap<>(c.tcp());
        Map<String, ServeConfig.WebServerConfig> web = new LinkedHashMap<>(c.web());
        ServeConfig.TcpPortHandler had = tcp.get(port);
        if (kind.web()) {
            if (!mount.startsWith("/")) mount = "/" + mount;
            ServeConfig.HttpHandler h = ServeTarget.web(target);
            ServeConfig.TcpPortHandler want = kind == Kind.HTTPS ? ServeConfig.TcpPortHandler.ofHttps() : ServeConfig.TcpPortHandler.ofHttp();
            if (had != null && !had.equals(want)) throw new IllegalArgumentException(conflict(port, had, kind));
            tcp.put(port, want);
            String hp = host + ":" + port;
            Map<String, ServeConfig.HttpHandler> hs = new LinkedHashMap<>(web.containsKey(hp) ? web.get(hp).handlers() : Map.of());
            hs.put(mount, h);
            web.put(hp, new ServeConfig.WebServerConfig(hs));
        } else {
            String fwd = ServeTarget.tcp(target);
            ServeConfig.TcpPortHandler want = ServeConfig.TcpPortHandler.forward(fwd, kind == Kind.TLS_TERMINATED_TCP ? host : null);
            if (had != null && (had.https() || had.http())) throw new IllegalArgumentException(conflict(port, had, kind));
            tcp.put(port, want);
        }
        ServeConfig out = new ServeConfig(tcp, web, c.allowFunnel());
        ServeValidation.validate(out);
        return out;
    }

    /** {@code c} without what {@code port} ({@code mount} for web kinds) serves. */
    public static ServeConfig remove(ServeConfig c, String host, Kind kind, int port, String mount) {
        Map<Integer, ServeConfig.TcpPortHandler> tcp = new LinkedHashMap<>(c.tcp());
        Map<String, ServeConfig.WebServerConfig> web = new LinkedHashMap<>(c.web());
        ServeConfig.TcpPortHandler had = tcp.get(port);
        if (kind.web()) {
            if (!mount.startsWith("/")) mount = "/" + mount;
            String hp = host + ":" + port;
            ServeConfig.WebServerConfig w = web.get(hp);
            if (had == null || w == null || !w.handlers().containsKey(mount)) {
                throw new IllegalArgumentException("error: failed to remove web serve: handler does not exist");
            }
            Map<String, ServeConfig.HttpHandler> hs = new LinkedHashMap<>(w.handlers());
            hs.remove(mount);
            if (hs.isEmpty()) {
                web.remove(hp);
                if (web.keySet().stream().noneMatch(k -> k.endsWith(":" + port))) tcp.remove(port);
            } else {
                web.put(hp, new ServeConfig.WebServerConfig(hs));
            }
        } else {
            if (had == null || had.https() || had.http()) {
                throw new IllegalArgumentException("error: failed to remove TCP forward: port " + port + " has none");
            }
            tcp.remove(port);
        }
        Map<String, Boolean> funnel = new LinkedHashMap<>(c.allowFunnel());
        // tailscale's RemoveWebHandler(cleanupFunnel) and RemoveTCPForwarding: a port that serves nothing is not funneled.
        if (!tcp.containsKey(port)) funnel.remove(host + ":" + port);
        return new ServeConfig(tcp, web, funnel);
    }

    /**
     * {@code c} with Funnel on or off for {@code host:port} (tailscale's {@code SetFunnel}): on adds the AllowFunnel
     * entry, off removes it.
     */
    public static ServeConfig setFunnel(ServeConfig c, String host, int port, boolean on) {
        Map<String, Boolean> funnel = new LinkedHashMap<>(c.allowFunnel());
        if (on) funnel.put(host + ":" + port, true);
        else funnel.remove(host + ":" + port);
        return new ServeConfig(c.tcp(), c.web(), funnel);
    }

    private static String conflict(int port, ServeConfig.TcpPortHandler had, Kind want) {
        String is = had.https() ? "HTTPS" : had.http() ? "HTTP" : "TCP";
        return "port " + port + " is already serving " + is + "; run 'lattice serve --" + flagOf(had) + "=" + port
                + " off' first to serve " + want.name().replace('_', '-') + " on it";
    }

    private static String flagOf(ServeConfig.TcpPortHandler h) {
        if (h.https()) return "https";
        if (h.http()) return "http";
        return h.terminateTls() != null && !h.terminateTls().isEmpty() ? "tls-terminated-tcp" : "tcp";
    }

    /** The URL a web port is reached at: the default port is left out, as tailscale prints it. */
    public static String url(String host, int port, boolean https) {
        boolean dflt = https ? port == 443 : port == 80;
        return (https ? "https://" : "http://") + host + (dflt ? "" : ":" + port);
    }

    /** {@code serve status}'s text (tailscale's {@code printServeStatus} shape); "No serve config" when empty. */
    public static String status(ServeConfig c) {
        if (c.tcp().isEmpty()) return "No serve config\n";
        StringBuilder b = new StringBuilder();
        c.tcp().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            int port = e.getKey();
            ServeConfig.TcpPortHandler h = e.getValue();
            if (h.tcpForward() != null && !h.tcpForward().isEmpty()) {
                boolean tls = h.terminateTls() != null && !h.terminateTls().isEmpty();
                boolean open = c.allowFunnel().entrySet().stream()
                        .anyMatch(f -> Boolean.TRUE.equals(f.getValue()) && f.getKey().endsWith(":" + port));
                String where = open ? "Funnel on" : "tailnet only";
                b.append("|-- tcp://").append(tls ? h.terminateTls() : "").append(":").append(port)
                        .append(tls ? " (TLS over TCP, " + where + ")" : " (" + where + ")").append('\n');
                b.append("|--> tcp://").append(h.tcpForward()).append("\n\n");
                return;
            }
            c.web().forEach((hp, w) -> {
                if (!hp.endsWith(":" + port)) return;
                boolean open = Boolean.TRUE.equals(c.allowFunnel().get(hp));
                b.append(url(hp.substring(0, hp.length() - (":" + port).length()), port, h.https()))
                        .append(open ? " (Funnel on)\n" : " (tailnet only)\n");
                w.handlers().forEach((mount, hh) -> {
                    b.append("|-- ").append(mount).append(' ');
                    if (hh.proxy() != null && !hh.proxy().isEmpty()) b.append("proxy ").append(hh.proxy());
                    else if (hh.text() != null && !hh.text().isEmpty()) b.append("text \"").append(hh.text()).append('"');
                    else b.append("path ").append(hh.path());
                    b.append('\n');
                });
                b.append('\n');
            });
        });
        return b.toString();
    }
}
