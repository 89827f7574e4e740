package dev.lattice.agent.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpsExchange;
import dev.lattice.agent.peerapi.Peer;
import dev.lattice.wire.ip.IpPrefix;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One served HTTP(S) port: finds the web config for the request's host (the TLS server name, else the Host
 * header) and the handler of the longest mount point that matches its path, then answers with static text, a
 * file under a directory, or the response of the proxied local server, as tailscale's {@code serveWebHandler}.
 * Proxied requests carry {@link IdentityHeaders} and tailscale's X-Forwarded-* headers and keep their Host.
 */
final class WebHandler implements HttpHandler {
    private static final Logger log = LoggerFactory.getLogger(WebHandler.class);
    /** A backend that is down would log once per request: once a minute per backend is enough. */
    private static final dev.lattice.guard.LogLimiter LOG = dev.lattice.guard.LogLimiter.perMinute(log);
    /** Hop-by-hop headers (RFC 9110 7.6.1) and those the JDK client or server sets itself. */
    private static final Set<String> HOP = Set.of("connection", "keep-alive", "proxy-connection", "proxy-authenticate",
            "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "expect", "host", "date");

    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER).proxy(HttpClient.Builder.NO_PROXY)
            .connectTimeout(Duration.ofSeconds(10)).build();

    private final Supplier<ServeConfig> config;
    private final int port;
    private final boolean tls;
    private final ServeListeners.Env env;
    /** Funnel mode: the internet client behind a loopback connection from the peer API's ingress; null otherwise. */
    private final java.util.function.Function<InetSocketAddress, InetSocketAddress> funnel;

    WebHandler(Supplier<ServeConfig> config, int port, boolean tls, ServeListeners.Env env) {
        this(config, port, tls, env, null);
    }

    WebHandler(Supplier<ServeConfig> config, int port, boolean tls, ServeListeners.Env env,
            java.util.function.Function<InetSocketAddress, InetSocketAddress> funnel) {
        this.config = config;
        this.port = port;
        this.tls = tls;
        this.env = env;
        this.funnel = funnel;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        try (ex) {
            Peer peer = null;
            InetSocketAddress src;
            if (funnel != null) {
                // Funnel: no tailnet identity; only connections the ingress handed over are served.
                src = funnel.apply(ex.getRemoteAddress());
                if (src == null) {
                    text(ex, 403, "not a Funnel connection\n");
                    return;
                }
            } else {
                peer = env.whois(ex.getRemoteAddress());
                if (peer == null) {
                    text(ex, 403, "not a node of this tailnet\n");
                    return;
                }
                src = peer.remote();
            }
            ServeConfig.WebServerConfig web = lookup(config.get(), hostName(ex), port);
            String path = ex.getRequestURI().getRawPath();
            String mount = web == null ? null : mount(web.handlers().keySet(), path);
            if (mount == null) {
                text(ex, 404, "404 page not found\n");
                return;
            }
            ServeConfig.HttpHandler h = web.handlers().get(mount);
            if (h.text() != null && !h.text().isEmpty()) text(ex, 200, h.text());
            else if (h.path() != null && !h.path().isEmpty()) file(ex, Path.of(h.path()), rest(mount, decoded(ex, path)));
            else proxy(ex, peer, src, URI.create(h.proxy()), rest(mount, path), h.acceptAppCaps());
        } catch (IOException | RuntimeException e) {
            log.debug("serve: request failed: {}", e.toString());
        }
    }

    /** The request's path with %-escapes decoded (file names), or the raw one when it does not decode. */
    private static String decoded(HttpExchange ex, String raw) {
        String p = ex.getRequestURI().getPath();
        return p == null ? raw : p;
    }

    /** The host the client asked for: the TLS server name, else the Host header without its port. */
    private String hostName(HttpExchange ex) {
        if (ex instanceof HttpsExchange hx && hx.getSSLSession() instanceof ExtendedSSLSession s) {
            for (SNIServerName n : s.getRequestedServerNames()) if (n instanceof SNIHostName h) return h.getAsciiName();
        }
        String host = ex.getRequestHeaders().getFirst("Host");
        if (host == null) return "";
        if (host.startsWith("[")) return host.substring(0, host.indexOf(']') + 1);
        int c = host.lastIndexOf(':');
        return (c >= 0 ? host.substring(0, c) : host).toLowerCase(Locale.ROOT);
    }

    /**
     * The web config of {@code host:port}; a short name matches its MagicDNS name; when nothing matches and the
     * port has a single web config (a request by address), that one.
     */
    static ServeConfig.WebServerConfig lookup(ServeConfig c, String host, int port) {
        String suffix = ":" + port;
        ServeConfig.WebServerConfig exact = c.web().get(host + suffix);
        if (exact != null) return exact;
        ServeConfig.WebServerConfig only = null;
        int n = 0;
        for (Map.Entry<String, ServeConfig.WebServerConfig> e : c.web().entrySet()) {
            if (!e.getKey().endsWith(suffix)) continue;
            String h = e.getKey().substring(0, e.getKey().length() - suffix.length());
            if (!host.isEmpty() && h.startsWith(host + ".")) return e.getValue();
            only = e.getValue();
            n++;
        }
        return n == 1 ? only : null;
    }

    /** The longest mount point that is {@code path} or a directory above it (tailscale's mount matching). */
    static String mount(Set<String> mounts, String path) {
        String best = null;
        for (String m : mounts) {
            boolean match = m.equals("/") || path.equals(m) || path.startsWith(m.endsWith("/") ? m : m + "/");
            if (match && (best == null || m.length() > best.length())) best = m;
        }
        return best;
    }

    /** {@code path} below {@code mount}, always starting with "/". */
    static String rest(String mount, String path) {
        if (mount.equals("/")) return path.isEmpty() ? "/" : path;
        String r = path.substring(Math.min(path.length(), mount.endsWith("/") ? mount.length() - 1 : mount.length()));
        return r.isEmpty() ? "/" : r;
    }

    /** The URL a request for {@code rest} goes to: the target's path joined with it, and the request's query. */
    static URI target(URI base, String rest, String rawQuery) {
        String bp = base.getRawPath() == null ? "" : base.getRawPath();
        String p = bp.isEmpty() || bp.equals("/") ? rest : (bp.endsWith("/") ? bp.substring(0, bp.length() - 1) : bp) + rest;
        String authority = base.getRawAuthority();
        return URI.create(base.getScheme() + "://" + authority + p + (rawQuery == null ? "" : "?" + rawQuery));
    }

    /**
     * tailscale's {@code addAppCapabilitiesHeader}: the accepted capabilities the peer holds, with their values, as a
     * JSON object with sorted keys (a capability without values is null, as Go marshals a nil slice).
     */
    private String appCapabilities(Peer peer, List<String> accept) {
        Map<String, List<tools.jackson.databind.JsonNode>> caps = env.peerCaps(peer.remote());
        tools.jackson.databind.node.ObjectNode o = tools.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        for (String c : new java.util.TreeSet<>(accept)) {
            if (!caps.containsKey(c)) continue;
            List<tools.jackson.databind.JsonNode> v = caps.get(c);
            if (v == null || v.isEmpty()) o.putNull(c);
            else o.putArray(c).addAll(v);
        }
        return IdentityHeaders.encode(o.toString());
    }

    /** @param peer the tailnet node asking, null for a Funnel request from {@code src} on the internet */
    private void proxy(HttpExchange ex, Peer peer, InetSocketAddress src, URI base, String rest, List<String> acceptAppCaps)
            throws IOException {
        URI to = target(base, rest, ex.getRequestURI().getRawQuery());
        HttpRequest.Builder b = HttpRequest.newBuilder(to).timeout(Duration.ofMinutes(5));
        String host = ex.getRequestHeaders().getFirst("Host");
        for (Map.Entry<String, List<String>> e : ex.getRequestHeaders().entrySet()) {
            String k = e.getKey();
            if (HOP.contains(k.toLowerCase(Locale.ROOT)) || IdentityHeaders.stripped(k) || k.toLowerCase(Locale.ROOT).startsWith("x-forwarded-")) continue;
            for (String v : e.getValue()) b.header(k, v);
        }
        if (host != null) {
            try {
                b.header("Host", host);
            } catch (IllegalArgumentException e) {
                // the JDK client was in use before ServeListeners allowed Host: the backend sees its own address
            }
        }
        b.header("X-Forwarded-Host", host == null ? "" : host);
        if (tls) b.header("X-Forwarded-Proto", "https");
        b.header("X-Forwarded-For", IpPrefix.format(src.getAddress()));
        if (peer != null) IdentityHeaders.of(peer).forEach(b::header);
        else b.header(IdentityHeaders.FUNNEL_REQUEST, "?1");
        if (peer != null && !acceptAppCaps.isEmpty()) b.header(IdentityHeaders.APP_CAPABILITIES, appCapabilities(peer, acceptAppCaps));
        String cl = ex.getRequestHeaders().getFirst("Content-Length");
        String te = ex.getRequestHeaders().getFirst("Transfer-Encoding");
        HttpRequest.BodyPublisher body;
        if (cl != null && !cl.equals("0")) {
            body = HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(ex::getRequestBody), Long.parseLong(cl.trim()));
        } else if (te != null) {
            body = HttpRequest.BodyPublishers.ofInputStream(ex::getRequestBody);
        } else {
            body = HttpRequest.BodyPublishers.noBody();
        }
        b.method(ex.getRequestMethod(), body);
        HttpResponse<InputStream> res;
        try {
            res = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            text(ex, 502, "Bad Gateway\n");
            return;
        } catch (IOException | IllegalArgumentException e) {
            LOG.info(base, "serve: proxy to {} for {}: {}", base, peer == null ? "a Funnel client" : peer.displayName(), e.toString());
            text(ex, 502, "Bad Gateway\n");
            return;
        }
        try (InputStream in = res.body()) {
            res.headers().map().forEach((k, vs) -> {
                if (k.startsWith(":") || HOP.contains(k.toLowerCase(Locale.ROOT))) return;
                for (String v : vs) ex.getResponseHeaders().add(k, v);
            });
            int code = res.statusCode();
            boolean noBody = ex.getRequestMethod().equals("HEAD") || code == 204 || code == 304 || (code >= 100 && code < 200);
            long len = res.headers().firstValueAsLong("Content-Length").orElse(-1);
            ex.sendResponseHeaders(code, noBody ? -1 : len == 0 ? -1 : len < 0 ? 0 : len);
            if (!noBody) {
                try (OutputStream out = ex.getResponseBody()) {
                    in.transferTo(out);
                }
            }
        }
    }

    private static void file(HttpExchange ex, Path root, String rest) throws IOException {
        Path p = root.resolve(rest.substring(1)).normalize();
        if (!p.startsWith(root.normalize())) {
            text(ex, 403, "forbidden\n");
            return;
        }
        if (Files.isDirectory(p)) p = p.resolve("index.html");
        if (!Files.isRegularFile(p) || !ex.getRequestMethod().matches("GET|HEAD")) {
            text(ex, 404, "404 page not found\n");
            return;
        }
        String type = Files.probeContentType(p);
        ex.getResponseHeaders().set("Content-Type", type == null ? "application/octet-stream" : type);
        long size = Files.size(p);
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(200, head || size == 0 ? -1 : size);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                Files.copy(p, out);
            }
        }
    }

    private static void text(HttpExchange ex, int code, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(code, head || b.length == 0 ? -1 : b.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(b);
            }
        }
    }

}
