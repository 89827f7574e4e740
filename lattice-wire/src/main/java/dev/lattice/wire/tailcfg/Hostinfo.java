package dev.lattice.wire.tailcfg;

import static dev.lattice.wire.tailcfg.JsonObjects.Kind.ARRAY;
import static dev.lattice.wire.tailcfg.JsonObjects.Kind.BOOL;
import static dev.lattice.wire.tailcfg.JsonObjects.Kind.OBJECT;
import static dev.lattice.wire.tailcfg.JsonObjects.Kind.OPT_BOOL;
import static dev.lattice.wire.tailcfg.JsonObjects.Kind.STRING;
import static dev.lattice.wire.tailcfg.JsonObjects.Kind.STRINGS;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.lattice.wire.ip.IpPrefix;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * What a client says about itself (Go: tailcfg.go Hostinfo). Kept as the JSON object the client sent, so
 * fields this code does not know (clients are newer) are stored and echoed to peers verbatim; the fields
 * below have typed accessors. Known fields are type-checked on construction as Go's decoder would.
 * Immutable: {@code with…} methods return a modified copy.
 */
public final class Hostinfo {
    private static final Map<String, JsonObjects.Kind> SCHEMA = new HashMap<>();

    static {
        for (String s : List.of("IPNVersion", "FrontendLogID", "BackendLogID", "OS", "OSVersion", "Env", "Distro",
                "DistroVersion", "DistroCodeName", "App", "Package", "DeviceModel", "PushDeviceToken", "Hostname",
                "Machine", "GoArch", "GoArchVar", "GoVersion", "Cloud", "ServicesHash", "ExitNodeID")) {
            SCHEMA.put(s.toLowerCase(Locale.ROOT), STRING);
        }
        for (String s : List.of("ShieldsUp", "ShareeNode", "NoLogsNoSupport", "RemoteConfig", "WireIngress",
                "IngressEnabled", "AllowsUpdate", "PeerRelay")) {
            SCHEMA.put(s.toLowerCase(Locale.ROOT), BOOL);
        }
        for (String s : List.of("Container", "Desktop", "Userspace", "UserspaceRouter", "AppConnector", "StateEncrypted")) {
            SCHEMA.put(s.toLowerCase(Locale.ROOT), OPT_BOOL);
        }
        for (String s : List.of("RequestTags", "WoLMACs", "sshHostKeys")) SCHEMA.put(s.toLowerCase(Locale.ROOT), STRINGS);
        for (String s : List.of("Location", "TPM")) SCHEMA.put(s.toLowerCase(Locale.ROOT), OBJECT);
        // RoutableIPs, Services and NetInfo are checked by parsing them into their types.
        SCHEMA.put("routableips", ARRAY);
        SCHEMA.put("services", ARRAY);
        SCHEMA.put("netinfo", OBJECT);
    }

    private static final TypeReference<List<IpPrefix>> PREFIXES = new TypeReference<>() {};
    private static final TypeReference<List<Service>> SERVICES = new TypeReference<>() {};

    private static final String NET_INFO = "NetInfo";

    /** Never modified after construction: every {@code with…} works on a copy. */
    private final ObjectNode json;
    /** {@link #hashCode()}, 0 until computed (a race computes the same value twice, harmlessly). */
    private int hash;
    private final List<IpPrefix> routableIps;
    private final List<Service> services;
    private final NetInfo netInfo;

    private Hostinfo(ObjectNode json) {
        JsonObjects.check("Hostinfo", json, SCHEMA);
        this.json = json;
        JsonNode r = JsonObjects.get(json, "RoutableIPs");
        this.routableIps = r == null ? List.of()
                : List.copyOf(Tailcfg.json().treeToValue(r, PREFIXES).stream()
                        .filter(p -> p != null).toList());
        JsonNode s = JsonObjects.get(json, "Services");
        this.services = s == null ? List.of()
                : Tailcfg.json().treeToValue(s, SERVICES).stream()
                        .filter(x -> x != null).toList();
        JsonNode n = JsonObjects.get(json, NET_INFO);
        this.netInfo = n == null ? null : NetInfo.wrap((ObjectNode) n);
    }

    /** Wraps a copy of {@code json}; throws IllegalArgumentException (or a JacksonException) if a known field is mistyped. */
    public static Hostinfo of(ObjectNode json) {
        return new Hostinfo(json.deepCopy());
    }

    /** Jackson hands over a freshly parsed node that nobody else holds: no copy needed. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    private static Hostinfo fromJson(ObjectNode json) {
        return new Hostinfo(json);
    }

    public static Hostinfo empty() {
        return new Hostinfo(JsonNodeFactory.instance.objectNode());
    }

    /** A copy of the whole object as the client sent it (plus any {@code with…} changes). */
    public ObjectNode toJson() {
        return json.deepCopy();
    }

    @JsonValue
    private ObjectNode jsonValue() {
        return json; // serialization only reads it
    }

    /** The raw value of any field (case-insensitive name), or null if absent or JSON null. */
    public JsonNode get(String goName) {
        JsonNode v = JsonObjects.get(json, goName);
        return v == null ? null : v.deepCopy();
    }

    /** A copy with {@code goName} set to {@code value} (encoded by {@link Tailcfg#json()}), or removed if null. */
    public Hostinfo with(String goName, Object value) {
        ObjectNode copy = json.deepCopy();
        JsonObjects.remove(copy, goName);
        if (value != null) copy.set(goName, Tailcfg.json().valueToTree(value));
        return new Hostinfo(copy);
    }

    private String str(String goName) {
        JsonNode v = JsonObjects.get(json, goName);
        return v == null ? null : v.stringValue();
    }

    private boolean bool(String goName) {
        JsonNode v = JsonObjects.get(json, goName);
        return v != null && v.booleanValue();
    }

    private Boolean optBool(String goName) {
        JsonNode v = JsonObjects.get(json, goName);
        return v == null ? null : v.booleanValue();
    }

    private List<String> strings(String goName) {
        JsonNode v = JsonObjects.get(json, goName);
        return v == null ? List.of() : v.valueStream().filter(x -> !x.isNull()).map(JsonNode::stringValue).toList();
    }

    public String hostname() { return str("Hostname"); }
    public String os() { return str("OS"); }
    public String osVersion() { return str("OSVersion"); }
    public String ipnVersion() { return str("IPNVersion"); }
    public String frontendLogId() { return str("FrontendLogID"); }
    public String backendLogId() { return str("BackendLogID"); }
    public String env() { return str("Env"); }
    public String distro() { return str("Distro"); }
    public String distroVersion() { return str("DistroVersion"); }
    public String app() { return str("App"); }
    public String packageType() { return str("Package"); }
    public String deviceModel() { return str("DeviceModel"); }
    public String machine() { return str("Machine"); }
    public String goArch() { return str("GoArch"); }
    public String goVersion() { return str("GoVersion"); }
    public String cloud() { return str("Cloud"); }
    public String exitNodeId() { return str("ExitNodeID"); }
    public boolean shareeNode() { return bool("ShareeNode"); }
    public boolean shieldsUp() { return bool("ShieldsUp"); }
    public boolean ingressEnabled() { return bool("IngressEnabled"); }
    public boolean wireIngress() { return bool("WireIngress"); }
    public boolean peerRelay() { return bool("PeerRelay"); }
    /** opt.Bool: null = unknown. */
    public Boolean userspace() { return optBool("Userspace"); }
    /** Subnet routes the node offers (the admin or auto-approvers decide which become PrimaryRoutes). */
    public List<IpPrefix> routableIps() { return routableIps; }
    /** ACL tags the node asks for ("tag:x"); not validated here. */
    public List<String> requestTags() { return strings("RequestTags"); }
    /** SSH host keys in authorized_keys form (JSON name "sshHostKeys"). */
    public List<String> sshHostKeys() { return strings("sshHostKeys"); }
    public List<String> wolMacs() { return strings("WoLMACs"); }
    public List<Service> services() { return services; }
    /** Null if the client sent none. */
    public NetInfo netInfo() { return netInfo; }

    public Hostinfo withHostname(String hostname) { return with("Hostname", hostname); }
    public Hostinfo withOs(String os) { return with("OS", os); }
    public Hostinfo withRoutableIps(List<IpPrefix> routes) { return with("RoutableIPs", routes); }
    public Hostinfo withRequestTags(List<String> tags) { return with("RequestTags", tags); }
    public Hostinfo withNetInfo(NetInfo netInfo) { return with("NetInfo", netInfo); }
    public Hostinfo withServices(List<Service> services) { return with("Services", services); }

    /**
     * Whether {@code other} holds the same fields but for NetInfo (matched case-insensitively, as every field): NetInfo
     * changes with each netcheck and reaches peers as a patch, the rest of Hostinfo needs the whole node sent again.
     */
    public boolean equalsIgnoringNetInfo(Hostinfo other) {
        if (other == this) return true;
        if (other == null) return false;
        int fields = 0;
        for (Map.Entry<String, JsonNode> e : json.properties()) {
            if (e.getKey().equalsIgnoreCase(NET_INFO)) continue;
            fields++;
            if (!e.getValue().equals(other.json.get(e.getKey()))) return false;
        }
        int otherFields = 0;
        for (Map.Entry<String, JsonNode> e : other.json.properties()) {
            if (!e.getKey().equalsIgnoreCase(NET_INFO)) otherFields++;
        }
        return fields == otherFields;
    }

    @Override
    public boolean equals(Object o) {
        if (o == this) return true;
        if (!(o instanceof Hostinfo h)) return false;
        int a = hash;
        int b = h.hash;
        if (a != 0 && b != 0 && a != b) return false;
        return json.equals(h.json);
    }

    /**
     * Computed once: the JSON is never changed after construction, and a peer's Hostinfo is hashed for every viewer
     * of every full map ({@link PeerJsonCache} keys on the whole node).
     */
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

    /** Hostname and OS only: the rest may hold tokens (PushDeviceToken) and is long. */
    @Override
    public String toString() {
        return "Hostinfo[Hostname=" + hostname() + ", OS=" + os() + ", " + json.size() + " fields]";
    }
}
