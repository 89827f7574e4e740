package dev.lattice.control.admin;

import dev.lattice.control.store.ApiKey;
import dev.lattice.control.store.PreAuthKey;
import dev.lattice.control.store.RegisterMethod;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Admin objects as Headscale's REST API (grpc-gateway, protojson) writes them: lowerCamelCase names, 64-bit ids as
 * strings, timestamps as RFC 3339 in UTC, and every field present (unset messages as null) — so scripts written
 * against Headscale's {@code /api/v1} read ours unchanged.
 */
public final class AdminJson {
    static final JsonMapper MAPPER = JsonMapper.builder().build();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final DateTimeFormatter MILLIS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'");
    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'");

    private AdminJson() {}

    public static JsonMapper mapper() {
        return MAPPER;
    }

    public static ObjectNode user(User u) {
        ObjectNode o = F.objectNode();
        o.put("id", Long.toString(u.id()));
        o.put("name", u.name());
        time(o, "createdAt", u.created());
        o.put("displayName", nz(u.displayName()));
        o.put("email", nz(u.email()));
        o.put("providerId", nz(u.providerId()));
        o.put("provider", nz(u.provider()));
        o.put("profilePicUrl", nz(u.profilePicUrl()));
        return o;
    }

    /** @param fullKey the secret key (only when it was just created), else null for the redacted form */
    public static ObjectNode preAuthKey(AdminApi.KeyInfo k, String fullKey) {
        PreAuthKey p = k.key();
        ObjectNode o = F.objectNode();
        o.set("user", k.user() == null ? F.nullNode() : user(k.user()));
        o.put("id", Long.toString(p.id()));
        o.put("key", fullKey != null ? fullKey : p.display());
        o.put("reusable", p.reusable());
        o.put("ephemeral", p.ephemeral());
        o.put("used", p.used());
        time(o, "expiration", p.expiration());
        time(o, "createdAt", p.created());
        strings(o.putArray("aclTags"), p.tags());
        return o;
    }

    public static ObjectNode node(AdminApi.NodeInfo i) {
        TailnetNode n = i.node();
        ObjectNode o = F.objectNode();
        o.put("id", Long.toString(n.id()));
        o.put("machineKey", n.machineKey().toString());
        o.put("nodeKey", n.nodeKey().toString());
        o.put("discoKey", n.discoKey() == null ? "" : n.discoKey().toString());
        ArrayNode ips = o.putArray("ipAddresses");
        if (n.ipv4() != null) ips.add(IpPrefix.format(n.ipv4()));
        if (n.ipv6() != null) ips.add(IpPrefix.format(n.ipv6()));
        o.put("name", n.hostname());
        o.set("user", i.user() == null ? F.nullNode() : user(i.user()));
        time(o, "lastSeen", n.lastSeen());
        time(o, "expiry", n.expiry());
        o.set("preAuthKey", i.preAuthKey() == null ? F.nullNode() : preAuthKey(i.preAuthKey(), null));
        time(o, "createdAt", n.created());
        o.put("registerMethod", registerMethod(n.registerMethod()));
        o.put("givenName", n.givenName());
        o.put("online", i.online());
        strings(o.putArray("approvedRoutes"), n.approvedRoutes().stream().map(IpPrefix::toString).toList());
        strings(o.putArray("availableRoutes"), i.availableRoutes().stream().map(IpPrefix::toString).toList());
        strings(o.putArray("subnetRoutes"), i.servingRoutes().stream().map(IpPrefix::toString).toList());
        strings(o.putArray("tags"), n.tags().names());
        return o;
    }

    public static ObjectNode apiKey(ApiKey k) {
        ObjectNode o = F.objectNode();
        o.put("id", Long.toString(k.id()));
        o.put("prefix", k.prefix());
        time(o, "expiration", k.expiration());
        time(o, "createdAt", k.created());
        time(o, "lastSeen", k.lastSeen());
        return o;
    }

    /** Headscale's RegisterMethod enum names. */
    static String registerMethod(RegisterMethod m) {
        return "REGISTER_METHOD_" + m.name();
    }

    /** protojson's Timestamp form: fraction digits only when non-zero (we keep milliseconds). */
    static String formatTime(Instant t) {
        var utc = t.atOffset(ZoneOffset.UTC);
        return (t.getNano() == 0 ? SECONDS : MILLIS).format(utc);
    }

    private static void time(ObjectNode o, String name, Instant t) {
        if (t == null) o.putNull(name);
        else o.put(name, formatTime(t));
    }

    private static void strings(ArrayNode a, List<String> values) {
        for (String v : values) a.add(v);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
