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
 * GET    /api/v1/health
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

    public AdminHttp(AdminApi api) {
        this.api = api;
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

    private JsonNode route(String method, List<String> s, Params p) {
        if (s.isEmpty()) return null;
        int n = s.size();
        return switch (s.getFirst()) {
            case "health" -> n == 1 ? only(method, "GET", () -> obj().put("databaseConnectivity", health())) : null;
            case "user" -> users(method, s, p);
            case "node" -> nodes(method, s, p);
            case "auth" -> n == 2 && s.get(1).equals("register") ? only(method, "POST",
                    () -> obj().set("node", AdminJson.node(api.authRegister(p.str("authId"), p.str("user"))))) : null;
            case "preauthkey" -> preAuthKeys(method, s, p);
            case "apikey" -> apiKeys(method, s, p);
            case "policy" -> policy(method, s, p);
            default -> null;
        };
    }

    private boolean health() {
        try {
            api.listApiKeys();
            return true;
        } catch (AdminException e) {
            return false;
        }
    }

    private JsonNode users(String method, List<String> s, Params p) {
        if (s.size() == 1) {
            return switch (method) {
                case "GET" -> {
                    ArrayNode a = F.arrayNode();
                    api.listUsers(new AdminApi.UserFilter(p.optLong("id"), p.str("name"), p.str("email")))
                            .forEach(u -> a.add(AdminJson.user(u)));
                    yield obj().set("users", a);
                }
                case "POST" -> obj().set("user", AdminJson.user(api.createUser(
                        new AdminApi.NewUser(p.str("name"), p.str("displayName"), p.str("email")))));
                default -> throw new MethodNotAllowed();
            };
        }
        long id = id(s.get(1));
        if (s.size() == 2) return only(method, "DELETE", () -> {
            api.deleteUser(id);
            return obj();
        });
        if (s.size() == 4 && s.get(2).equals("rename")) {
            return only(method, "POST", () -> obj().set("user", AdminJson.user(api.renameUser(id, s.get(3)))));
        }
        return null;
    }

    private JsonNode nodes(String method, List<String> s, Params p) {
        if (s.size() == 1) return only(method, "GET", () -> {
            ArrayNode a = F.arrayNode();
            api.listNodes(p.str("user")).forEach(i -> a.add(AdminJson.node(i)));
            return obj().set("nodes", a);
        });
        if (s.size() == 2 && s.get(1).equals("register")) {
            return only(method, "POST", () -> obj().set("node", AdminJson.node(api.registerNode(p.str("user"), p.str("key")))));
        }
        long id = id(s.get(1));
        if (s.size() == 2) {
            return switch (method) {
                case "GET" -> obj().set("node", AdminJson.node(api.node(id)));
                case "DELETE" -> {
                    api.deleteNode(id);
                    yield obj();
                }
                default -> throw new MethodNotAllowed();
            };
        }
        String action = s.get(2);
        if (s.size() == 3) {
            return switch (action) {
                case "expire" -> only(method, "POST", () -> obj().set("node",
                        AdminJson.node(api.expireNode(id, p.time("expiry"), p.bool("disableExpiry")))));
                case "tags" -> only(method, "POST", () -> obj().set("node", AdminJson.node(api.setTags(id, p.strings("tags")))));
                case "approve_routes" -> only(method, "POST",
                        () -> obj().set("node", AdminJson.node(api.approveRoutes(id, p.strings("routes")))));
                default -> null;
            };
        }
        if (s.size() == 4 && action.equals("rename")) {
            return only(method, "POST", () -> obj().set("node", AdminJson.node(api.renameNode(id, s.get(3)))));
        }
        return null;
    }

    private JsonNode preAuthKeys(String method, List<String> s, Params p) {
        if (s.size() == 1) {
            return switch (method) {
                case "GET" -> {
                    ArrayNode a = F.arrayNode();
                    api.listPreAuthKeys(p.str("user")).forEach(k -> a.add(AdminJson.preAuthKey(k, null)));
                    yield obj().set("preAuthKeys", a);
                }
                case "POST" -> {
                    NewKey<AdminApi.KeyInfo> k = api.createPreAuthKey(new AdminApi.NewPreAuthKey(p.str("user"),
                            p.bool("reusable"), p.bool("ephemeral"), p.time("expiration"), p.strings("aclTags")));
                    yield obj().set("preAuthKey", AdminJson.preAuthKey(k.key(), k.fullKey()));
                }
                case "DELETE" -> {
                    api.deletePreAuthKey(p.requiredLong("id"));
                    yield obj();
                }
                default -> throw new MethodNotAllowed();
            };
        }
        if (s.size() == 2 && s.get(1).equals("expire")) return only(method, "POST", () -> {
            api.expirePreAuthKey(p.requiredLong("id"));
            return obj();
        });
        return null;
    }

    private JsonNode apiKeys(String method, List<String> s, Params p) {
        if (s.size() == 1) {
            return switch (method) {
                case "GET" -> {
                    ArrayNode a = F.arrayNode();
                    api.listApiKeys().forEach(k -> a.add(AdminJson.apiKey(k)));
                    yield obj().set("apiKeys", a);
                }
                case "POST" -> obj().put("apiKey", api.createApiKey(p.time("expiration")).fullKey());
                default -> throw new MethodNotAllowed();
            };
        }
        if (s.size() == 2 && s.get(1).equals("expire")) return only(method, "POST", () -> {
            api.expireApiKey(orZero(p.optLong("id")), p.str("prefix"));
            return obj();
        });
        if (s.size() == 2) return only(method, "DELETE", () -> {
            long id = orZero(p.optLong("id"));
            api.deleteApiKey(id, id != 0 ? null : s.get(1));
            return obj();
        });
        return null;
    }

    private JsonNode policy(String method, List<String> s, Params p) {
        if (s.size() == 1) {
            AdminApi.PolicyText t = switch (method) {
                case "GET" -> api.getPolicy();
                case "PUT" -> api.setPolicy(p.text("policy"));
                default -> throw new MethodNotAllowed();
            };
            ObjectNode o = obj().put("policy", t.policy());
            if (t.updated() == null) o.putNull("updatedAt");
            else o.put("updatedAt", AdminJson.formatTime(t.updated()));
            return o;
        }
        if (s.size() == 2 && s.get(1).equals("check")) return only(method, "POST", () -> {
            api.checkPolicy(p.text("policy"));
            return obj();
        });
        return null;
    }

    private static long orZero(Long l) {
        return l == null ? 0 : l;
    }

    private static JsonNode only(String method, String allowed, java.util.function.Supplier<JsonNode> f) {
        if (!method.equals(allowed)) throw new MethodNotAllowed();
        return f.get();
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
    private record Params(Map<String, List<String>> query, JsonNode body) {
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
