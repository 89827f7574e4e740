package dev.lattice.control.server;

import dev.lattice.control.http.HttpResponses;
import dev.lattice.derp.server.BootstrapDns;
import dev.lattice.control.http.Routes;
import dev.lattice.control.state.Tailnet;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;

/**
 * The front port's plain endpoints, as Headscale's: key discovery, health, version, the registration page, DERP
 * admission, {@code /bootstrap-dns} (with the embedded DERP), {@code /robots.txt}, and the REST API's OpenAPI
 * document at Headscale's path {@code /swagger/v1/openapiv2.json}.
 */
final class FrontRoutes implements Routes {
    private static final Pattern AUTH_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    static final String OPENAPI_PATH = "/swagger/v1/openapiv2.json";

    private final MachinePublicKey noisePublic;
    private final Tailnet tailnet;
    private final BootstrapDns bootstrapDns;
    private final byte[] openApi;

    /** @param bootstrapDns null without the embedded DERP (as Headscale, which serves it only then) */
    FrontRoutes(MachinePublicKey noisePublic, Tailnet tailnet, BootstrapDns bootstrapDns) {
        this.noisePublic = noisePublic;
        this.tailnet = tailnet;
        this.bootstrapDns = bootstrapDns;
        this.openApi = openApiDocument();
    }

    static byte[] openApiDocument() {
        try (var in = FrontRoutes.class.getResourceAsStream("/openapi/openapiv2.json")) {
            if (in == null) throw new IllegalStateException("openapiv2.json missing from the jar");
            return in.readAllBytes();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Headscale's VersionInfo shape, with the JVM where Headscale names its Go toolchain. */
    static String versionJson() {
        String v = FrontRoutes.class.getPackage().getImplementationVersion();
        return "{\"version\":\"" + (v == null ? "dev" : v) + "\",\"commit\":\"unknown\",\"buildTime\":\"unknown\","
                + "\"java\":{\"version\":\"" + System.getProperty("java.version") + "\",\"os\":\"" + System.getProperty("os.name")
                .toLowerCase(java.util.Locale.ROOT) + "\",\"arch\":\"" + System.getProperty("os.arch") + "\"},\"dirty\":false}\n";
    }

    @Override
    public FullHttpResponse handle(FullHttpRequest req) {
        QueryStringDecoder query = new QueryStringDecoder(req.uri());
        String path = query.path();
        if (path.equals(OPENAPI_PATH) && req.method().equals(HttpMethod.GET)) return HttpResponses.json(HttpResponseStatus.OK, openApi);
        if (path.equals("/version") && req.method().equals(HttpMethod.GET)) {
            return HttpResponses.json(HttpResponseStatus.OK, versionJson().getBytes(StandardCharsets.UTF_8));
        }
        if (path.equals("/robots.txt")) return HttpResponses.text(HttpResponseStatus.OK, "User-agent: *\nDisallow: /");
        if (path.equals("/bootstrap-dns") && bootstrapDns != null) {
            var q = query.parameters().get("q");
            return HttpResponses.json(HttpResponseStatus.OK, bootstrapDns.answer(q == null || q.isEmpty() ? null : q.getFirst()));
        }
        if (path.equals("/key") && req.method().equals(HttpMethod.GET)) {
            // No legacy (pre-Noise) protocol here: its key is the zero key, as in headscale.
            String json = "{\"legacyPublicKey\":\"mkey:" + "0".repeat(64) + "\",\"publicKey\":\"" + noisePublic + "\"}";
            return HttpResponses.json(HttpResponseStatus.OK, json.getBytes(StandardCharsets.UTF_8));
        }
        if (path.equals("/health")) {
            try {
                tailnet.store().nodes().get(0);
                return HttpResponses.json(HttpResponseStatus.OK, "{\"status\":\"pass\"}".getBytes(StandardCharsets.UTF_8));
            } catch (RuntimeException e) {
                return HttpResponses.json(HttpResponseStatus.INTERNAL_SERVER_ERROR,
                        "{\"status\":\"fail\",\"output\":\"database unavailable\"}".getBytes(StandardCharsets.UTF_8));
            }
        }
        if (path.startsWith("/register/")) {
            String id = path.substring("/register/".length());
            if (!AUTH_ID.matcher(id).matches()) return HttpResponses.text(HttpResponseStatus.BAD_REQUEST, "invalid auth id");
            String html = """
                    <!DOCTYPE html><html><head><meta charset="utf-8"><title>Lattice: register this machine</title></head>
                    <body style="font-family:sans-serif;max-width:40em;margin:3em auto">
                    <h1>Machine registration</h1>
                    <p>An administrator completes this registration on the control server with:</p>
                    <pre>lattice-control auth register --auth-id %s --user USERNAME</pre>
                    </body></html>
                    """.formatted(id);
            return HttpResponses.of(HttpResponseStatus.OK, "text/html; charset=utf-8", html.getBytes(StandardCharsets.UTF_8));
        }
        if (path.startsWith("/auth/")) {
            // Headscale's AuthWeb page: without OIDC, an admin decides a Tailscale SSH check.
            String id = path.substring("/auth/".length());
            if (!AUTH_ID.matcher(id).matches()) return HttpResponses.text(HttpResponseStatus.BAD_REQUEST, "invalid auth id");
            String html = """
                    <!DOCTYPE html><html><head><meta charset="utf-8"><title>Lattice: SSH check</title></head>
                    <body style="font-family:sans-serif;max-width:40em;margin:3em auto">
                    <h1>SSH check</h1>
                    <p>An administrator lets this SSH connection in on the control server with:</p>
                    <pre>lattice-control auth approve --auth-id %s</pre>
                    <p>or refuses it with <code>lattice-control auth reject --auth-id %s</code>.</p>
                    </body></html>
                    """.formatted(id, id);
            return HttpResponses.of(HttpResponseStatus.OK, "text/html; charset=utf-8", html.getBytes(StandardCharsets.UTF_8));
        }
        if (path.equals("/verify") && req.method().equals(HttpMethod.POST)) {
            // derper --verify-client-url: tailcfg.DERPAdmitClientRequest → {"Allow": bool}
            boolean allow = false;
            try {
                JsonNode n = Tailcfg.json().readTree(req.content().toString(StandardCharsets.UTF_8));
                JsonNode k = n.get("NodePublic");
                if (k != null && k.isString()) allow = admits(NodePublicKey.parse(k.asString()));
            } catch (RuntimeException e) {
                return HttpResponses.text(HttpResponseStatus.BAD_REQUEST, "malformed admission request");
            }
            return HttpResponses.json(HttpResponseStatus.OK, ("{\"Allow\":" + allow + "}").getBytes(StandardCharsets.UTF_8));
        }
        if (path.equals("/")) return HttpResponses.text(HttpResponseStatus.OK, "lattice-control");
        return null;
    }

    /** Only registered, unexpired nodes may use our DERP (verify_clients). */
    boolean admits(NodePublicKey key) {
        return tailnet.byNodeKey(key).map(n -> !n.isExpired(tailnet.now())).orElse(false);
    }
}
