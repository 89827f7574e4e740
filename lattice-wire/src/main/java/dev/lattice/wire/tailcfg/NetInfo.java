package dev.lattice.wire.tailcfg;

import static dev.lattice.wire.tailcfg.JsonObjects.Kind.BOOL;
import static dev.lattice.wire.tailcfg.JsonObjects.Kind.INT;
import static dev.lattice.wire.tailcfg.JsonObjects.Kind.OBJECT;
import static dev.lattice.wire.tailcfg.JsonObjects.Kind.OPT_BOOL;
import static dev.lattice.wire.tailcfg.JsonObjects.Kind.STRING;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A client's network conditions, Hostinfo.NetInfo (Go: tailcfg.go NetInfo). Like {@link Hostinfo}, kept as
 * the JSON object received so unknown fields round-trip; known fields are type-checked and have accessors.
 */
public final class NetInfo {
    private static final Map<String, JsonObjects.Kind> SCHEMA = new HashMap<>();

    static {
        for (String s : List.of("MappingVariesByDestIP", "WorkingIPv6", "OSHasIPv6", "WorkingUDP", "WorkingICMPv4",
                "UPnP", "PMP", "PCP")) {
            SCHEMA.put(s.toLowerCase(Locale.ROOT), OPT_BOOL);
        }
        SCHEMA.put("haveportmap", BOOL);
        SCHEMA.put("preferredderp", INT);
        SCHEMA.put("linktype", STRING);
        SCHEMA.put("firewallmode", STRING);
        SCHEMA.put("derplatency", OBJECT);
    }

    /** Never modified after construction: every {@code with…} works on a copy. */
    private final ObjectNode json;
    /** {@link #hashCode()}, 0 until computed. */
    private int hash;
    private final Map<String, Double> derpLatency;

    private NetInfo(ObjectNode json) {
        JsonObjects.check("NetInfo", json, SCHEMA);
        JsonNode lat = JsonObjects.get(json, "DERPLatency");
        Map<String, Double> m = new LinkedHashMap<>();
        if (lat != null) {
            for (Map.Entry<String, JsonNode> e : lat.properties()) {
                if (e.getValue().isNull()) continue;
                if (!e.getValue().isNumber()) {
                    throw new IllegalArgumentException("NetInfo.DERPLatency[" + Tailcfg.clip(e.getKey()) + "] is not a number");
                }
                m.put(e.getKey(), e.getValue().doubleValue());
            }
        }
        this.json = json;
        this.derpLatency = java.util.Collections.unmodifiableMap(m);
    }

    /** Wraps a copy of {@code json}; throws IllegalArgumentException (or a JacksonException) if a known field is mistyped. */
    public static NetInfo of(ObjectNode json) {
        return new NetInfo(json.deepCopy());
    }

    /** For Hostinfo, whose own object already owns this node. */
    static NetInfo wrap(ObjectNode json) {
        return new NetInfo(json);
    }

    /** Jackson hands over a freshly parsed node that nobody else holds: no copy needed. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    private static NetInfo fromJson(ObjectNode json) {
        return new NetInfo(json);
    }

    public static NetInfo empty() {
        return new NetInfo(JsonNodeFactory.instance.objectNode());
    }

    public ObjectNode toJson() {
        return json.deepCopy();
    }

    @JsonValue
    private ObjectNode jsonValue() {
        return json;
    }

    public JsonNode get(String goName) {
        JsonNode v = JsonObjects.get(json, goName);
        return v == null ? null : v.deepCopy();
    }

    public NetInfo with(String goName, Object value) {
        ObjectNode copy = json.deepCopy();
        JsonObjects.remove(copy, goName);
        if (value != null) copy.set(goName, Tailcfg.json().valueToTree(value));
        return new NetInfo(copy);
    }

    private Boolean optBool(String goName) {
        JsonNode v = JsonObjects.get(json, goName);
        return v == null ? null : v.booleanValue();
    }

    /** The home DERP region the client chose; 0 = none/unknown. */
    public int preferredDerp() {
        JsonNode v = JsonObjects.get(json, "PreferredDERP");
        return v == null ? 0 : v.asInt();
    }

    public String linkType() {
        JsonNode v = JsonObjects.get(json, "LinkType");
        return v == null ? null : v.stringValue();
    }

    public boolean havePortMap() {
        JsonNode v = JsonObjects.get(json, "HavePortMap");
        return v != null && v.booleanValue();
    }

    public Boolean workingIpv6() { return optBool("WorkingIPv6"); }
    public Boolean workingUdp() { return optBool("WorkingUDP"); }
    public Boolean mappingVariesByDestIp() { return optBool("MappingVariesByDestIP"); }

    /** Seconds to each region's STUN, keyed "<regionID>-v4" / "-v6". */
    public Map<String, Double> derpLatency() {
        return derpLatency;
    }

    public NetInfo withPreferredDerp(int region) {
        return with("PreferredDERP", region);
    }

    @Override
    public boolean equals(Object o) {
        return o == this || o instanceof NetInfo n && json.equals(n.json);
    }

    /** Computed once, as {@link Hostinfo#hashCode()}: the JSON is never changed after construction. */
    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0) {
            h = json.hashCode();
            if (h == 0) h = 1;
            hash = h;
        }
        return h;
    }

    @Override
    public String toString() {
        return "NetInfo" + json;
    }
}
