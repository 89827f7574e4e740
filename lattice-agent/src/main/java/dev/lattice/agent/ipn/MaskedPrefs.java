package dev.lattice.agent.ipn;

import dev.lattice.agent.state.Prefs;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A change to some prefs (tailscale's {@code ipn.MaskedPrefs}): each field is a new value, or null to keep the
 * current one. On the wire it is tailscale's shape: the Prefs fields plus {@code <Field>Set: true} for each one
 * that changes, so {@code PATCH /localapi/v0/prefs} takes what tailscale's clients send. A {@code ...Set} flag for a
 * pref latticed does not have (RunSSH, OperatorUser, ...) is refused by name rather than ignored.
 *
 * <p>Choosing an exit node sets both {@code exitNodeId} and {@code exitNodeIp}, as tailscale's {@code --exit-node}
 * does: one of them empty; both empty to stop using one.
 */
public record MaskedPrefs(
        Boolean acceptRoutes,
        Boolean acceptDns,
        String hostname,
        List<String> advertiseRoutes,
        String exitNodeId,
        String exitNodeIp,
        Boolean exitNodeAllowLanAccess,
        Boolean shieldsUp,
        Boolean noSnat) {

    /** tailscale's JSON names of the fields above, in order. */
    static final List<String> FIELDS = List.of("RouteAll", "CorpDNS", "Hostname", "AdvertiseRoutes", "ExitNodeID",
            "ExitNodeIP", "ExitNodeAllowLANAccess", "ShieldsUp", "NoSNAT");
    /** Prefs that tailscale can change this way but latticed changes only through {@code up}/{@code down}. */
    private static final Map<String, String> ELSEWHERE = Map.of(
            "ControlURL", "lattice up --login-server",
            "WantRunning", "lattice up or lattice down",
            "LoggedOut", "lattice up or lattice logout",
            "AdvertiseTags", "lattice up --advertise-tags");

    public static final MaskedPrefs NONE = new MaskedPrefs(null, null, null, null, null, null, null, null, null);

    public MaskedPrefs {
        advertiseRoutes = advertiseRoutes == null ? null : List.copyOf(advertiseRoutes);
    }

    public boolean isEmpty() {
        return equals(NONE);
    }

    /** Whether the change chooses or clears the exit node. */
    public boolean setsExitNode() {
        return exitNodeId != null || exitNodeIp != null;
    }

    /** {@code p} with this change applied (not yet checked). */
    public Prefs applyTo(Prefs p) {
        Prefs out = p;
        if (acceptRoutes != null) out = out.withAcceptRoutes(acceptRoutes);
        if (acceptDns != null) out = out.withAcceptDns(acceptDns);
        if (hostname != null) out = out.withHostname(hostname.isEmpty() ? null : hostname);
        if (advertiseRoutes != null) out = out.withAdvertiseRoutes(advertiseRoutes);
        if (setsExitNode()) {
            // An address takes precedence over an ID (tailscale's resolveExitNodeIP): a new address clears the ID.
            String ip = exitNodeIp == null ? p.exitNodeIp() : exitNodeIp;
            String id = exitNodeId == null ? p.exitNodeId() : exitNodeId;
            if (exitNodeIp != null && !exitNodeIp.isEmpty()) id = null;
            if (exitNodeId != null && !exitNodeId.isEmpty() && exitNodeIp == null) ip = null;
            out = out.withExitNode(id, ip);
        }
        if (exitNodeAllowLanAccess != null) out = out.withExitNodeAllowLanAccess(exitNodeAllowLanAccess);
        if (shieldsUp != null) out = out.withShieldsUp(shieldsUp);
        if (noSnat != null) out = out.withNoSnat(noSnat);
        return out;
    }

    public MaskedPrefs withAcceptRoutes(Boolean v) {
        return new MaskedPrefs(v, acceptDns, hostname, advertiseRoutes, exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public MaskedPrefs withAcceptDns(Boolean v) {
        return new MaskedPrefs(acceptRoutes, v, hostname, advertiseRoutes, exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public MaskedPrefs withHostname(String v) {
        return new MaskedPrefs(acceptRoutes, acceptDns, v, advertiseRoutes, exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public MaskedPrefs withAdvertiseRoutes(List<String> v) {
        return new MaskedPrefs(acceptRoutes, acceptDns, hostname, v, exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    /** The exit node by address ("" for none), as {@code --exit-node} sets it: the ID is cleared with it. */
    public MaskedPrefs withExitNodeIp(String ip) {
        return new MaskedPrefs(acceptRoutes, acceptDns, hostname, advertiseRoutes, "", ip, exitNodeAllowLanAccess, shieldsUp, noSnat);
    }

    public MaskedPrefs withExitNodeAllowLanAccess(Boolean v) {
        return new MaskedPrefs(acceptRoutes, acceptDns, hostname, advertiseRoutes, exitNodeId, exitNodeIp, v, shieldsUp, noSnat);
    }

    public MaskedPrefs withShieldsUp(Boolean v) {
        return new MaskedPrefs(acceptRoutes, acceptDns, hostname, advertiseRoutes, exitNodeId, exitNodeIp, exitNodeAllowLanAccess, v, noSnat);
    }

    public MaskedPrefs withNoSnat(Boolean v) {
        return new MaskedPrefs(acceptRoutes, acceptDns, hostname, advertiseRoutes, exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, v);
    }

    /** tailscale's JSON: each changed field with its {@code <Field>Set: true}. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        Object[] values = {acceptRoutes, acceptDns, hostname, advertiseRoutes, exitNodeId, exitNodeIp, exitNodeAllowLanAccess, shieldsUp, noSnat};
        for (int i = 0; i < values.length; i++) {
            Object v = values[i];
            if (v == null) continue;
            String name = FIELDS.get(i);
            switch (v) {
                case Boolean b -> o.put(name, b);
                case String s -> o.put(name, s);
                case List<?> l -> {
                    var a = o.putArray(name);
                    for (Object x : l) a.add(String.valueOf(x));
                }
                default -> throw new IllegalStateException(name);
            }
            o.put(name + "Set", true);
        }
        return o;
    }

    /**
     * Reads tailscale's JSON. Fields without their {@code Set} flag are ignored (tailscale's clients send every field).
     *
     * @throws IllegalArgumentException naming the field, for a mistyped value or a Set flag for a pref latticed
     *                                  does not change this way
     */
    public static MaskedPrefs fromJson(JsonNode n) {
        if (n == null || !n.isObject()) throw new IllegalArgumentException("want a JSON object of prefs");
        Set<String> known = Set.copyOf(FIELDS);
        for (var e : n.properties()) {
            String k = e.getKey();
            if (!k.endsWith("Set") || k.length() == 3) continue;
            JsonNode v = e.getValue();
            boolean on = v.isBoolean() ? v.booleanValue() : v.isObject() && v.valueStream().anyMatch(JsonNode::asBoolean);
            if (!on) continue;
            String field = k.substring(0, k.length() - 3);
            if (known.contains(field)) continue;
            String where = ELSEWHERE.get(field);
            throw new IllegalArgumentException(where != null
                    ? "latticed changes " + field + " only with " + where
                    : "latticed has no pref " + field + " (it cannot be set)");
        }
        return new MaskedPrefs(bool(n, "RouteAll"), bool(n, "CorpDNS"), str(n, "Hostname"), strings(n, "AdvertiseRoutes"),
                str(n, "ExitNodeID"), str(n, "ExitNodeIP"), bool(n, "ExitNodeAllowLANAccess"), bool(n, "ShieldsUp"),
                bool(n, "NoSNAT"));
    }

    private static boolean isSet(JsonNode n, String field) {
        JsonNode s = n.get(field + "Set");
        return s != null && s.isBoolean() && s.booleanValue();
    }

    private static Boolean bool(JsonNode n, String field) {
        if (!isSet(n, field)) return null;
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return false; // Go's zero value
        if (!v.isBoolean()) throw new IllegalArgumentException(field + ": want true or false");
        return v.booleanValue();
    }

    private static String str(JsonNode n, String field) {
        if (!isSet(n, field)) return null;
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return "";
        if (!v.isString()) throw new IllegalArgumentException(field + ": want a string");
        return v.stringValue();
    }

    private static List<String> strings(JsonNode n, String field) {
        if (!isSet(n, field)) return null;
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return List.of();
        if (!v.isArray()) throw new IllegalArgumentException(field + ": want a list of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode x : v) {
            if (!x.isString()) throw new IllegalArgumentException(field + ": want a list of strings");
            out.add(x.stringValue());
        }
        return out;
    }
}
