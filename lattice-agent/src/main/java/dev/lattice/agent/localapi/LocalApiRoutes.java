package dev.lattice.agent.localapi;

import dev.lattice.agent.ipn.Backend;
import dev.lattice.agent.ipn.BackendException;
import dev.lattice.agent.ipn.MaskedPrefs;
import dev.lattice.agent.ipn.UpRequest;
import dev.lattice.metrics.Metrics;
import dev.lattice.wire.tailcfg.DERPMap;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * The {@code /localapi/v0/} paths mapped onto a {@link Backend}, independent of the transport:
 * <pre>
 * GET  status                       → Status
 * POST up          (UpRequest)      → UpResult           (write)
 * POST down                         → {}                 (write)
 * POST logout                       → {}                 (write)
 * POST ping?ip=X[&amp;timeout=ms]       → PingResult; 504 when the peer did not answer in time
 * GET  netcheck                     → NetcheckReport
 * GET  whois?addr=X                 → WhoIsResponse
 * GET  version                      → {"Version":"..."}
 * GET  derpmap                      → DERPMap (404 when the daemon has none)
 * GET  usermetrics                  → the daemon's metrics, Prometheus text (as tailscaled's client metrics)
 * GET  prefs                        → Prefs
 * PATCH prefs      (MaskedPrefs)    → Prefs              (write; 400 with the reason when refused, nothing changed)
 * GET  check-ip-forwarding[?routes=a,b] → {"Warning":"..."} ("" when fine; default routes: the exit routes)
 * GET  cert/DOMAIN?type=pair|cert|key → PEM text: key then chain, the chain, or the key (write; tailscale's)
 * POST set-dns?name=N&amp;value=V      → {}                 (write; the control server's answer as the error)
 * GET  serve-config                 → ServeConfig (null when none), its ETag in the Etag header
 * POST serve-config (ServeConfig)   → {}                 (write; If-Match: the ETag it replaces, else 412)
 * </pre>
 * "write" calls need {@code mayWrite} (the server decides it from the peer's credentials). Errors are
 * {@code {"error":"..."}} with the {@link BackendException}'s status.
 */
public final class LocalApiRoutes {
    private static final Logger log = LoggerFactory.getLogger(LocalApiRoutes.class);
    public static final String PREFIX = "/localapi/v0/";
    static final Duration DEFAULT_PING_TIMEOUT = Duration.ofSeconds(5);
    static final Duration MAX_PING_TIMEOUT = Duration.ofMinutes(5);
    /** Extra time the backend gets beyond the ping timeout before the server answers 504 itself. */
    private static final Duration PING_GRACE = Duration.ofMillis(500);

    private final Backend backend;
    private final Supplier<DERPMap> derpMap;
    private final Supplier<Metrics> userMetrics;
    private final ExecutorService pings = Executors.newVirtualThreadPerTaskExecutor();

    public LocalApiRoutes(Backend backend, Supplier<DERPMap> derpMap) {
        this(backend, derpMap, null);
    }

    /**
     * @param userMetrics what {@code usermetrics} serves (null: 404), asked for at the first scrape: the Prometheus
     *     registry and its JVM collectors are a few hundred classes an idle daemon need not load
     */
    public LocalApiRoutes(Backend backend, Supplier<DERPMap> derpMap, Supplier<Metrics> userMetrics) {
        this.backend = backend;
        this.derpMap = derpMap;
        this.userMetrics = userMetrics;
    }

    /** An answer: JSON unless said otherwise, with an ETag when it has one. */
    public record Response(int status, byte[] body, String contentType, String etag) {
        public Response(int status, byte[] body) {
            this(status, body, "application/json", null);
        }

        public Response(int status, byte[] body, String contentType) {
            this(status, body, contentType, null);
        }
    }

    public Response handle(String method, String uri, byte[] body, boolean mayWrite) {
        return handle(method, uri, body, mayWrite, null);
    }

    /** @param ifMatch the request's If-Match header, or null */
    public Response handle(String method, String uri, byte[] body, boolean mayWrite, String ifMatch) {
        QueryStringDecoder q;
        try {
            q = new QueryStringDecoder(uri);
            q.parameters(); // decodes lazily; force it so bad escapes are caught here
        } catch (IllegalArgumentException e) {
            return error(400, "malformed URL");
        }
        String path = q.path();
        if (!path.startsWith(PREFIX)) return error(404, "not found");
        String name = path.substring(PREFIX.length());
        Map<String, List<String>> params = q.parameters();
        try {
            if (name.startsWith("cert/")) {
                if (!method.equals("GET")) return error(405, "want GET");
                if (!mayWrite) return error(403, "cert access denied");
                return cert(name.substring("cert/".length()), params);
            }
            return switch (name) {
                case "status" -> get(method, () -> ok(backend.status()));
                case "up" -> write(method, mayWrite, name, () -> ok(params.containsKey("wait")
                        ? backend.up(upRequest(body), upWait(params)) : backend.up(upRequest(body))));
                case "down" -> write(method, mayWrite, name, () -> {
                    backend.down();
                    return ok(Map.of());
                });
                case "logout" -> write(method, mayWrite, name, () -> {
                    backend.logout();
                    return ok(Map.of());
                });
                case "ping" -> post(method, () -> ping(required(params, "ip"), timeout(params)));
                case "netcheck" -> get(method, () -> ok(backend.netcheck()));
                case "whois" -> get(method, () -> ok(backend.whois(required(params, "addr"))));
                case "version" -> get(method, () -> ok(Map.of("Version", nz(backend.status().version()))));
                case "derpmap" -> get(method, () -> {
                    DERPMap m = derpMap == null ? null : derpMap.get();
                    return m == null ? error(404, "no DERP map") : ok(m);
                });
                case "usermetrics" -> get(method, () -> userMetrics == null ? error(404, "no metrics")
                        : new Response(200, userMetrics.get().scrape(), Metrics.CONTENT_TYPE));
                case "prefs" -> method.equals("PATCH")
                        ? patch(mayWrite, name, () -> ok(backend.editPrefs(maskedPrefs(body))))
                        : get(method, () -> ok(backend.prefs()));
                case "set-dns" -> write(method, mayWrite, name, () -> {
                    backend.setDns(required(params, "name"), required(params, "value"));
                    return ok(Map.of());
                });
                case "serve-config" -> serveConfig(method, mayWrite, body, ifMatch);
                case "check-ip-forwarding" -> get(method, () -> {
                    List<String> routes = params.containsKey("routes")
                            ? List.of(params.get("routes").getLast().split(",", -1)).stream().filter(x -> !x.isEmpty()).toList()
                            : List.of(dev.lattice.agent.state.Prefs.ALL_IPV4, dev.lattice.agent.state.Prefs.ALL_IPV6);
                    String w = backend.checkIpForwarding(routes);
                    return ok(Map.of("Warning", w == null ? "" : w));
                });
                default -> error(404, "not found");
            };
        } catch (BackendException e) {
            return error(e.status(), e.getMessage());
        } catch (RuntimeException e) {
            log.warn("localapi {} {} failed", method, path, e);
            return error(500, "internal error: " + e.getClass().getSimpleName());
        }
    }

    private Response cert(String domain, Map<String, List<String>> params) throws BackendException {
        String type = params.containsKey("type") ? params.get("type").getLast() : "";
        if (!List.of("", "crt", "cert", "key", "pair").contains(type)) {
            return error(400, "invalid type; want \"cert\" (default), \"key\", or \"pair\"");
        }
        var pair = backend.cert(domain);
        String text = switch (type) {
            case "key" -> pair.keyPem();
            case "pair" -> pair.keyPem() + pair.certPem();
            default -> pair.certPem();
        };
        return new Response(200, text.getBytes(java.nio.charset.StandardCharsets.US_ASCII), "text/plain");
    }

    /**
     * tailscale's {@code serve-config}: GET answers the config (JSON {@code null} when none) with its ETag; POST
     * replaces it, refused with 412 when If-Match names another config than the current one.
     */
    private Response serveConfig(String method, boolean mayWrite, byte[] body, String ifMatch) throws BackendException {
        if (method.equals("GET")) {
            dev.lattice.agent.serve.ServeConfig c = backend.serveConfig();
            byte[] json = c.isEmpty() ? "null".getBytes(java.nio.charset.StandardCharsets.US_ASCII) : c.toJson();
            return new Response(200, json, "application/json", c.etag());
        }
        if (!method.equals("POST")) return error(405, "method not allowed");
        if (!mayWrite) return error(403, "serve config denied");
        dev.lattice.agent.serve.ServeConfig c;
        try {
            c = dev.lattice.agent.serve.ServeConfig.parse(body);
        } catch (IllegalArgumentException e) {
            return error(400, e.getMessage());
        }
        backend.setServeConfig(c, ifMatch == null ? "" : ifMatch);
        return ok(Map.of());
    }

    /** Stops pings still running past their deadline. */
    public void close() {
        pings.shutdownNow();
    }

    private interface Call {
        Response run() throws BackendException;
    }

    private static Response get(String method, Call c) throws BackendException {
        if (!method.equals("GET") && !method.equals("HEAD")) return error(405, "want GET");
        return c.run();
    }

    private static Response post(String method, Call c) throws BackendException {
        if (!method.equals("POST")) return error(405, "want POST");
        return c.run();
    }

    private static Response write(String method, boolean mayWrite, String name, Call c) throws BackendException {
        if (!method.equals("POST")) return error(405, "want POST");
        if (!mayWrite) return error(403, "access denied: " + name + " needs root or the daemon's user");
        return c.run();
    }

    private static Response patch(boolean mayWrite, String name, Call c) throws BackendException {
        if (!mayWrite) return error(403, "access denied: changing " + name + " needs root or the daemon's user");
        return c.run();
    }

    private static MaskedPrefs maskedPrefs(byte[] body) throws BackendException {
        try {
            return MaskedPrefs.fromJson(body == null || body.length == 0 ? null : LocalApiJson.mapper().readTree(body));
        } catch (JacksonException e) {
            throw new BackendException(400, "malformed JSON body");
        } catch (IllegalArgumentException e) {
            throw new BackendException(400, e.getMessage());
        }
    }

    private Response ping(String ip, Duration timeout) throws BackendException {
        // The backend is given the deadline; the server enforces it too so a stuck backend cannot hang the CLI.
        Future<dev.lattice.agent.ipn.PingResult> f = pings.submit(() -> backend.ping(ip, timeout));
        try {
            return ok(f.get(timeout.plus(PING_GRACE).toNanos(), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
            f.cancel(true);
            return error(504, "ping to " + ip + " timed out");
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            return error(503, "interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof BackendException be) throw be;
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        }
    }

    private static UpRequest upRequest(byte[] body) throws BackendException {
        if (body == null || body.length == 0) return new UpRequest(null, null, null, null, null, null, false);
        try {
            JsonNode n = LocalApiJson.mapper().readTree(body);
            if (n == null || !n.isObject()) throw new BackendException(400, "request body must be a JSON object");
            return LocalApiJson.mapper().treeToValue(n, UpRequest.class);
        } catch (JacksonException e) {
            throw new BackendException(400, "malformed JSON body");
        }
    }

    private static String required(Map<String, List<String>> params, String name) throws BackendException {
        List<String> v = params.get(name);
        if (v == null || v.isEmpty() || v.getLast().isEmpty()) throw new BackendException(400, "missing '" + name + "' parameter");
        return v.getLast();
    }

    /** {@code up}'s {@code wait} parameter: how long it may wait for its outcome, in milliseconds (not tailscale's). */
    static Duration upWait(Map<String, List<String>> params) throws BackendException {
        List<String> v = params.get("wait");
        try {
            long ms = Long.parseLong(v.getLast());
            if (ms >= 0) return Duration.ofMillis(ms);
        } catch (NumberFormatException e) {
            // below
        }
        throw new BackendException(400, "invalid 'wait' parameter: want milliseconds");
    }

    static Duration timeout(Map<String, List<String>> params) throws BackendException {
        List<String> v = params.get("timeout");
        if (v == null || v.isEmpty() || v.getLast().isEmpty()) return DEFAULT_PING_TIMEOUT;
        long ms;
        try {
            ms = Long.parseLong(v.getLast());
        } catch (NumberFormatException e) {
            throw new BackendException(400, "invalid 'timeout' parameter: want milliseconds");
        }
        if (ms <= 0 || ms > MAX_PING_TIMEOUT.toMillis()) {
            throw new BackendException(400, "invalid 'timeout' parameter: want 1.." + MAX_PING_TIMEOUT.toMillis() + " ms");
        }
        return Duration.ofMillis(ms);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }

    private static Response ok(Object value) {
        return new Response(200, LocalApiJson.mapper().writeValueAsBytes(value));
    }

    static Response error(int status, String message) {
        if (status < 400 || status > 599) status = 500;
        return new Response(status, LocalApiJson.mapper().writeValueAsBytes(Map.of("error", message == null ? "" : message)));
    }
}
