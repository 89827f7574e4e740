package dev.lattice.control.admin;

import dev.lattice.control.store.NewKey;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Headscale's REST paths ({@code hscontrol/../headscale.proto} http annotations) mapped onto {@link AdminApi}. Shared
 * by the main port (after API-key authentication) and the unix socket (no further check: the socket file's mode
 * decides who may connect). Request bodies are protojson: lowerCamelCase or proto (snake_case) names, 64-bit ids as
 * strings or numbers. Errors are grpc-gateway's {@code {"code":N,"message":"...","details":[]}}.
 *
 * <pre>
 * GET    /api/v1/health                              POST   /api/v1/node/backfillips {confirmed}
 * POST   /api/v1/debug/node {user,key,name,routes}   POST   /api/v1/auth/approve {authId}
 * POST   /api/v1/auth/reject {authId}
 * GET    /api/v1/user[?id=&amp;name=&amp;email=]           POST /api/v1/user {name,displayName,email}
 * POST   /api/v1/user/{id}/rename/{newName}          DELETE /api/v1/user/{id}
 * GET    /api/v1/node[?user=]                        GET    /api/v1/node/{id}
 * POST   /api/v1/node/register?user=&amp;key=            DELETE /api/v1/node/{id}
 * POST   /api/v1/node/{id}/expire[?expiry=&amp;disableExpiry=]
 * POST   /api/v1/node/{id}/rename/{newName}
 * POST   /api/v1/node/{id}/tags {tags}               POST   /api/v1/node/{id}/approve_routes {routes}
 * POST   /api/v1/auth/register {user,authId}
 * GET    /api/v1/preauthkey[?user=]                  POST   /api/v1/preauthkey {user,reusable,ephemeral,expiration,aclTags}
 * POST   /api/v1/preauthkey/expire {id}              DELETE /api/v1/preauthkey?id=
 * GET    /api/v1/apikey                              POST   /api/v1/apikey {expiration}
 * POST   /api/v1/apikey/expire {prefix|id}           DELETE /api/v1/apikey/{prefix}[?id=]
 * GET    /api/v1/policy                              PUT    /api/v1/policy {policy}
 * POST   /api/v1/policy/check {policy}
 * </pre>
 * Wherever a {@code user} is taken, a name or a numeric id works (Headscale takes an id for pre-auth keys and a
 * name elsewhere).
 */
public final class AdminHttp {
    private static final Logger log = LoggerFactory.getLogger(AdminHttp.class);
    public static final String PREFIX = "/api/v1/";
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final AdminApi api;

    private final List<Route> routes;

    public AdminHttp(AdminApi api) {
        this.api = api;
        this.routes = buildRoutes();
    }

    public AdminApi api() {
        return api;
    }

    /** A JSON answer. */
    public record Response(int status, byte[] body) {}

    /** @return the answer, or null when {@code uri} is not under {@code /api/v1/} */
    public Response handle(String method, String uri, byte[] body) {
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        if (!path.startsWith(PREFIX)) return null;
        Map<String, List<String>> query;
        List<String> seg = new ArrayList<>();
        try {
            query = new io.netty.handler.codec.http.QueryStringDecoder(uri).parameters();
            for (String s : path.substring(PREFIX.length()).split("/", -1)) {
                if (!s.isEmpty()) seg.add(URLDecoder.decode(s, StandardCharsets.UTF_8));
            }
        } catch (IllegalArgumentException e) {
            return error(400, 3, "malformed URL: bad %-escape");
        }
        try {
            for (String s : seg) AdminInput.value("URL path", s);
            query.forEach((k, vs) -> {
                AdminInput.value("URL parameter name", k);
                for (String v : vs) AdminInput.value("parameter " + clip(k), v);
            });
            JsonNode json = parseBody(body);
            JsonNode out = route(method, seg, new Params(query, json));
            if (out == null) return error(404, 5, "Not Found");
            return new Response(200, AdminJson.mapper().writeValueAsBytes(out));
        } catch (AdminException e) {
            return error(e.code().http, e.code().grpc, e.getMessage());
        } catch (MethodNotAllowed e) {
            return error(405, 12, "Method Not Allowed");
        } catch (RuntimeException e) {
            log.warn("admin {} {} failed", method, path, e);
            return error(500, 13, "internal error: " + e.getClass().getSimpleName());
        }
    }

    /** Whether {@code method uri} stores or checks a policy (the one request whose body may be large). */
    static boolean isPolicyUpload(String method, String uri) {
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        if (!path.startsWith(PREFIX)) return false;
        List<String> seg = new ArrayList<>();
        try {
            for (String s : path.substring(PREFIX.length()).split("/", -1)) {
                if (!s.isEmpty()) seg.add(URLDecoder.decode(s, StandardCharsets.UTF_8));
            }
        } catch (IllegalArgumentException e) {
            return false;
        }
        return method.equals("PUT") && seg.equals(List.of("policy"))
                || method.equals("POST") && seg.equals(List.of("policy", "check"));
    }

    static Response error(int http, int grpc, String message) {
        ObjectNode o = F.objectNode();
        o.put("code", grpc);
        o.put("message", message);
        o.putArray("details");
        return new Response(http, AdminJson.mapper().writeValueAsBytes(o));
    }

    private static JsonNode parseBody(byte[] body) {
        if (body == null || body.length == 0) return F.objectNode();
        try {
            JsonNode n = AdminJson.mapper().readTree(body);
            if (n == null || n.isMissingNode() || n.isNull()) return F.objectNode();
            if (!n.isObject()) throw AdminException.invalid("request body must be a JSON object");
            return n;
        } catch (JacksonException e) {
            throw AdminException.invalid("malformed JSON body");
        }
    }

    private static final class MethodNotAllowed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        MethodNotAllowed() {
            super(null, null, false, false);
        }
    }

    /** One REST route: method, Headscale's path template ({@code {name}} matches one segment), and its handler. */
    public record Route(String method, String template, Handler handler) {
        List<String> segments() {
            return List.of(template.substring(PREFIX.length()).split("/"));
        }

        /** The path variables when {@code path} fits the template, else null. */
        Map<String, String> match(List<String> path) {
            List<String> t = segments();
            if (t.size() != path.size()) return null;
            Map<String, String> vars = new java.util.HashMap<>();
            for (int i = 0; i < t.size(); i++) {
                String want = t.get(i);
                if (want.startsWith("{")) vars.put(want.substring(1, want.length() - 1), path.get(i));
                else if (!want.equals(path.get(i))) return null;
            }
            return vars;
        }

        /** More literal segments wins: {@code node/register} over {@code node/{node_id}}. */
        int literals() {
            return (int) segments().stream().filter(x -> !x.startsWith("{")).count();
        }
    }

    @FunctionalInterface
    interface Handler {
        JsonNode handle(Params p, Map<String, String> vars);
    }

    private List<Route> buildRoutes() {
        return List.of(
            route("GET", "health", (p, v) -> obj().put("databaseConnectivity", health())),
            route("GET", "user", (p, v) -> {
                ArrayNode a = F.arrayNode();
                api.listUsers(new AdminApi.UserFilter(p.optLong("id"), p.str("name"), p.str("email"))).forEach(u -> a.add(AdminJson.user(u)));
                return obj().set("users", a);
            }),
            route("POST", "user", (p, v) -> obj().set("user", AdminJson.user(api.createUser(
                    new AdminApi.NewUser(p.str("name"), p.str("displayName"), p.str("email")))))),
            route("POST", "user/{oldId}/rename/{newName}",
                    (p, v) -> obj().set("user", AdminJson.user(api.renameUser(id(v.get("oldId")), v.get("newName"))))),
            route("DELETE", "user/{id}", (p, v) -> {
                api.deleteUser(id(v.get("id")));
                return obj();
            }),
            route("GET", "node", (p, v) -> {
                ArrayNode a = F.arrayNode();
                api.listNodes(p.str("user")).forEach(i -> a.add(AdminJson.node(i)));
                return obj().set("nodes", a);
            }),
            route("POST", "node/register", (p, v) -> obj().set("node", AdminJson.node(api.registerNode(p.str("user"), p.str("key"))))),
            route("POST", "node/backfillips", (p, v) -> {
                ArrayNode a = F.arrayNode();
                api.backfillNodeIps(p.bool("confirmed")).forEach(a::add);
                return obj().set("changes", a);
            }),
            route("GET", "node/{nodeId}", (p, v) -> obj().set("node", AdminJson.node(api.node(id(v.get("nodeId")))))),
            route("DELETE", "node/{nodeId}", (p, v) -> {
                api.deleteNode(id(v.get("nodeId")));
                return obj();
            }),
            route("POST", "node/{nodeId}/expire", (p, v) -> obj().set("node",
                    AdminJson.node(api.expireNode(id(v.get("nodeId")), p.time("expiry"), p.bool("disableExpiry"))))),
            route("POST", "node/{nodeId}/rename/{newName}",
                    (p, v) -> obj().set("node", AdminJson.node(api.renameNode(id(v.get("nodeId")), v.get("newName"))))),
            route("POST", "node/{nodeId}/tags",
                    (p, v) -> obj().set("node", AdminJson.node(api.setTags(id(v.get("nodeId")), p.strings("tags"))))),
            route("POST", "node/{nodeId}/approve_routes",
                    (p, v) -> obj().set("node", AdminJson.node(api.approveRoutes(id(v.get("nodeId")), p.strings("routes"))))),
            route("POST", "debug/node", (p, v) -> obj().set("node", AdminJson.node(
                    api.debugCreateNode(p.str("user"), p.str("key"), p.str("name"), p.strings("routes"))))),
            route("POST", "auth/register", (p, v) -> obj().set("node", AdminJson.node(api.authRegister(p.str("authId"), p.str("user"))))),
            route("POST", "auth/approve", (p, v) -> {
                api.authApprove(p.str("authId"));
                return obj();
            }),
            route("POST", "auth/reject", (p, v) -> {
                api.authReject(p.str("authId"));
                return obj();
            }),
            route("GET", "preauthkey", (p, v) -> {
                ArrayNode a = F.arrayNode();
                api.listPreAuthKeys(p.str("user")).forEach(k -> a.add(AdminJson.preAuthKey(k, null)));
                return obj().set("preAuthKeys", a);
            }),
            route("POST", "preauthkey", (p, v) -> {
                NewKey<AdminApi.KeyInfo> k = api.createPreAuthKey(new AdminApi.NewPreAuthKey(p.str("user"),
                        p.bool("reusable"), p.bool("ephemeral"), p.time("expiration"), p.strings("aclTags")));
                return obj().set("preAuthKey", AdminJson.preAuthKey(k.key(), k.fullKey()));
            }),
            route("DELETE", "preauthkey", (p, v) -> {
                api.deletePreAuthKey(p.requiredLong("id"));
                return obj();
            }),
            route("POST", "preauthkey/expire", (p, v) -> {
                api.expirePreAuthKey(p.requiredLong("id"));
                return obj();
            }),
            route("GET", "apikey", (p, v) -> {
                ArrayNode a = F.arrayNode();
                api.listApiKeys().forEach(k -> a.add(AdminJson.apiKey(k)));
                return obj().set("apiKeys", a);
            }),
            route("POST", "apikey", (p, v) -> obj().put("apiKey", api.createApiKey(p.time("expiration")).fullKey())),
            route("POST", "apikey/expire", (p, v) -> {
                api.expireApiKey(orZero(p.optLong("id")), p.str("prefix"));
                return obj();
            }),
            route("DELETE", "apikey/{prefix}", (p, v) -> {
                long id = orZero(p.optLong("id"));
                api.deleteApiKey(id, id != 0 ? null : v.get("prefix"));
                return obj();
            }),
            route("GET", "policy", (p, v) -> policyText(api.getPolicy())),
            route("PUT", "policy", (p, v) -> policyText(api.setPolicy(p.text("policy")))),
            route("POST", "policy/check", (p, v) -> {
                api.checkPolicy(p.text("policy"));
                return obj();
            }));
    }

    private static Route route(String method, String path, Handler h) {
        return new Route(method, PREFIX + path, h);
    }

    /** Every route this API serves (method and template), for the OpenAPI document and its test. */
    public static List<Route> routes() {
        return new AdminHttp(null).routes;
    }

    private JsonNode route(String method, List<String> s, Params p) {
        if (s.isEmpty()) return null;
        int best = -1;
        List<Route> candidates = new ArrayList<>();
        for (Route r : routes) {
            if (r.match(s) == null) continue;
            int l = r.literals();
            if (l > best) {
                best = l;
                candidates.clear();
            }
            if (l == best) candidates.add(r);
        }
        if (candidates.isEmpty()) return null;
        for (Route r : candidates) {
            if (r.method().equals(method)) return r.handler().handle(p, r.match(s));
        }
        throw new MethodNotAllowed();
    }

    private static ObjectNode policyText(AdminApi.PolicyText t) {
        ObjectNode o = obj().put("policy", t.policy());
        if (t.updated() == null) o.putNull("updatedAt");
        else o.put("updatedAt", AdminJson.formatTime(t.updated()));
        return o;
    }

    private boolean health() {
        try {
            api.listApiKeys();
            return true;
        } catch (AdminException e) {
            return false;
        }
    }

    private static long orZero(Long l) {
        return l == null ? 0 : l;
    }

    private static ObjectNode obj() {
        return F.objectNode();
    }

    static long id(String text) {
        try {
            long v = Long.parseLong(text);
            if (v <= 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw AdminException.invalid("invalid id \"" + clip(text) + "\": want a positive integer");
        }
    }

    private static String clip(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    /** Request fields from the JSON body or the query string (grpc-gateway fills fields from both). */
    record Params(Map<String, List<String>> query, JsonNode body) {
        private JsonNode field(String camel) {
            JsonNode v = body.get(camel);
            if (v == null) v = body.get(snake(camel));
            return v == null || v.isNull() ? null : v;
        }

        private String queryValue(String camel) {
            List<String> v = query.get(camel);
            if (v == null) v = query.get(snake(camel));
            return v == null || v.isEmpty() ? null : v.getLast();
        }

        /**
         * A single-line string field (see {@link AdminInput#value}). A JSON number is taken as its decimal text
         * only when it is an integer from 0 to 2^63-1, as protojson's 64-bit ids: a float such as {@code 1e999}
         * would otherwise arrive as "Infinity".
         */
        String str(String name) {
            JsonNode v = field(name);
            if (v != null) {
                if (v.isString()) return AdminInput.value("field " + name, v.asString());
                if (v.isNumber()) return integer(name, v);
                throw AdminException.invalid("field " + name + " must be a string");
            }
            return queryValue(name);
        }

        /** A multi-line string field (the policy): well-formed Unicode, any length the caller allows. */
        String text(String name) {
            JsonNode v = field(name);
            if (v != null) {
                if (v.isString()) return AdminInput.wellFormed("field " + name, v.asString());
                throw AdminException.invalid("field " + name + " must be a string");
            }
            return queryValue(name);
        }

        private static final BigInteger MAX_ID = BigInteger.valueOf(Long.MAX_VALUE);

        private static String integer(String name, JsonNode v) {
            if (v.isIntegralNumber()) {
                BigInteger b = v.bigIntegerValue();
                if (b.signum() >= 0 && b.compareTo(MAX_ID) <= 0) return b.toString();
            }
            throw AdminException.invalid("field " + name + " must be a string or an integer from 0 to " + Long.MAX_VALUE);
        }

        boolean bool(String name) {
            JsonNode v = field(name);
            if (v != null) {
                if (v.isBoolean()) return v.asBoolean();
                throw AdminException.invalid("field " + name + " must be true or false");
            }
            String q = queryValue(name);
            if (q == null || q.isEmpty()) return false;
            if (q.equals("true") || q.equals("false")) return Boolean.parseBoolean(q);
            throw AdminException.invalid("parameter " + name + " must be true or false");
        }

        Long optLong(String name) {
            return AdminInput.id("field " + name, str(name));
        }

        long requiredLong(String name) {
            Long v = optLong(name);
            if (v == null || v == 0) throw AdminException.invalid("missing " + name);
            return v;
        }

        /** protojson's Timestamp: an RFC 3339 string (a number is not one). */
        Instant time(String name) {
            JsonNode v = field(name);
            if (v != null && !v.isString()) {
                throw AdminException.invalid("field " + name + " must be an RFC 3339 time string, e.g. 2030-01-02T15:04:05Z");
            }
            return AdminInput.time("field " + name, str(name));
        }

        List<String> strings(String name) {
            JsonNode v = field(name);
            if (v == null) {
                List<String> q = query.get(name);
                if (q == null) q = query.get(snake(name));
                return q == null ? List.of() : q.stream().flatMap(x -> Arrays.stream(x.split(","))).toList();
            }
            if (!v.isArray()) throw AdminException.invalid("field " + name + " must be a list of strings");
            List<String> out = new ArrayList<>(v.size());
            for (JsonNode e : v) {
                if (!e.isString()) throw AdminException.invalid("field " + name + " must be a list of strings");
                out.add(AdminInput.value("field " + name, e.asString()));
            }
            return out;
        }

        private static String snake(String camel) {
            StringBuilder sb = new StringBuilder(camel.length() + 4);
            for (char c : camel.toCharArray()) {
                if (Character.isUpperCase(c)) sb.append('_').append(Character.toLowerCase(c));
                else sb.append(c);
            }
            return sb.toString();
        }
    }
}
