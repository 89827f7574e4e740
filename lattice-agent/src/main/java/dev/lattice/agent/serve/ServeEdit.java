package dev.lattice.agent.serve;

import java.util.LinkedHashMap;
import java.util.List;
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

    /**
     * {@code serve status}'s trees as tailscale prints them ({@code printServeStatusTrees}): the TCP forwards first
     * (by port; each with the node's name and tailnet addresses), then the web entries by host:port, mounts by
     * length and padded, text cut to 20 characters; "No serve config" when empty. tailscale's own order among
     * mounts of equal length is a Go map's; ours is by name.
     *
     * @param dnsName the node's MagicDNS name (a trailing dot is dropped)
     * @param ips the node's tailnet addresses, as {@code status} lists them
     */
    public static String status(ServeConfig c, String dnsName, List<String> ips) {
        if (c.tcp().isEmpty() && c.web().isEmpty()) return "No serve config\n";
        String name = dnsName == null ? "" : dnsName.endsWith(".") ? dnsName.substring(0, dnsName.length() - 1) : dnsName;
        StringBuilder b = new StringBuilder();
        boolean anyTcp = false;
        for (Map.Entry<Integer, ServeConfig.TcpPortHandler> e : c.tcp().entrySet().stream()
                .sorted(Map.Entry.comparingByKey()).toList()) {
            ServeConfig.TcpPortHandler h = e.getValue();
            if (h.tcpForward() == null || h.tcpForward().isEmpty()) continue;
            anyTcp = true;
            String hp = hostPort(name, e.getKey());
            String where = Boolean.TRUE.equals(c.allowFunnel().get(hp)) ? "Funnel on" : "tailnet only";
            boolean tls = h.terminateTls() != null && !h.terminateTls().isEmpty();
            b.append("|-- tcp://").append(hp).append(tls ? " (TLS-terminated TCP, " : " (").append(where).append(")\n");
            for (String ip : ips) b.append("|-- tcp://").append(hostPort(ip, e.getKey())).append('\n');
            b.append(h.tcpForward().startsWith("unix:") ? "|--> " : "|--> tcp://").append(h.tcpForward()).append('\n');
        }
        if (anyTcp) b.append('\n');
        c.web().forEach((hp, w) -> {
            int colon = hp.lastIndexOf(':');
            String host = hp.substring(0, colon), portStr = hp.substring(colon + 1);
            if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
            ServeConfig.TcpPortHandler h = c.tcp().get(Integer.parseInt(portStr));
            boolean https = h == null || !h.http();
            String scheme = https ? "https" : "http";
            String portPart = (https ? portStr.equals("443") : portStr.equals("80")) ? "" : ":" + portStr;
            String where = Boolean.TRUE.equals(c.allowFunnel().get(hp)) ? "Funnel on" : "tailnet only";
            if (!https) {
                int dot = host.indexOf('.');
                b.append("http://").append(dot < 0 ? host : host.substring(0, dot)).append(portPart).append(" (").append(where).append(")\n");
            }
            b.append(scheme).append("://").append(host).append(portPart).append(" (").append(where).append(")\n");
            List<String> mounts = new java.util.ArrayList<>(w.handlers().keySet());
            mounts.sort(java.util.Comparator.comparingInt(String::length).thenComparing(java.util.Comparator.naturalOrder()));
            int max = mounts.isEmpty() ? 0 : mounts.getLast().length();
            for (String m : mounts) {
                ServeConfig.HttpHandler hh = w.handlers().get(m);
                String t, d;
                if (hh.path() != null && !hh.path().isEmpty()) {
                    t = "path";
                    d = hh.path();
                } else if (hh.proxy() != null && !hh.proxy().isEmpty()) {
                    t = "proxy";
                    d = hh.proxy();
                } else if (hh.text() != null && !hh.text().isEmpty()) {
                    t = "text";
                    d = "\"" + (hh.text().length() <= 20 ? hh.text() : hh.text().substring(0, 17) + "...") + "\"";
                } else {
                    t = "";
                    d = "";
                }
                b.append("|-- ").append(m).append(" ".repeat(max - m.length())).append(' ')
                        .append(String.format(java.util.Locale.ROOT, "%-5s", t)).append(' ').append(d).append('\n');
            }
            b.append('\n');
        });
        return b.toString();
    }

    /**
     * tailscale's {@code printFunnelWarning}: a line for each host:port with Funnel on and no serve config for its
     * port (printed to stderr), or "" when there is none.
     */
    public static String funnelWarning(ServeConfig c) {
        StringBuilder b = new StringBuilder();
        c.allowFunnel().forEach((hp, on) -> {
            if (!Boolean.TRUE.equals(on)) return;
            int p;
            try {
                p = Integer.parseInt(hp.substring(hp.lastIndexOf(':') + 1));
            } catch (NumberFormatException e) {
                p = 0;
            }
            if (!c.tcp().containsKey(p)) b.append("\nWarning: funnel=on for ").append(hp).append(", but no serve config\n");
        });
        if (!b.isEmpty()) b.append("         run: `lattice serve --help` to see how to configure handlers\n");
        return b.toString();
    }

    /** tailscale's validAppCap: {@code {domain}/{name}}, FQDN label characters, slashes allowed in the name. */
    private static final java.util.regex.Pattern APP_CAP =
            java.util.regex.Pattern.compile("^([\\p{L}\\p{N}-]+\\.)+[\\p{L}\\p{N}-]+/[\\p{L}\\p{N}-/]+$");

    /**
     * The capabilities of {@code --accept-app-caps} values (comma-separated lists), checked as tailscale checks them.
     * @throws IllegalArgumentException naming the first malformed one
     */
    public static List<String> appCaps(List<String> flags) {
        List<String> out = new java.util.ArrayList<>();
        for (String f : flags) {
            if (f.isEmpty()) continue;
            for (String c : f.split(",", -1)) {
                c = c.strip();
                if (!APP_CAP.matcher(c).matches()) {
                    throw new IllegalArgumentException("\"" + c + "\" does not match the form {domain}/{name}, where domain must be a fully qualified domain name");
                }
                out.add(c);
            }
        }
        return out;
    }

    /** {@code c} with the proxy handler at {@code host:port} {@code mount} accepting {@code caps} (tailscale sets them on proxies only). */
    public static ServeConfig withAppCaps(ServeConfig c, String host, int port, String mount, List<String> caps) {
        ServeConfig.WebServerConfig w = c.web().get(host + ":" + port);
        ServeConfig.HttpHandler h = w == null ? null : w.handlers().get(mount);
        if (h == null || h.proxy() == null || h.proxy().isEmpty()) return c;
        Map<String, ServeConfig.HttpHandler> handlers = new LinkedHashMap<>(w.handlers());
        handlers.put(mount, new ServeConfig.HttpHandler(h.path(), h.proxy(), h.text(), caps));
        Map<String, ServeConfig.WebServerConfig> web = new LinkedHashMap<>(c.web());
        web.put(host + ":" + port, new ServeConfig.WebServerConfig(handlers));
        return new ServeConfig(c.tcp(), web, c.allowFunnel());
    }

    /** Go's net.JoinHostPort. */
    static String hostPort(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
