package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import java.net.InetAddress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** A node as the control server describes it: MapResponse.Node (self) and Peers. Go: tailcfg.go Node. */
public record Node(
        @JsonProperty("ID") Long id,
        @JsonProperty("StableID") String stableId,
        @JsonProperty("Name") String name, // FQDN with trailing dot
        @JsonProperty("User") Long user,
        @JsonProperty("Sharer") Long sharer,
        @JsonProperty("Key") NodePublicKey key,
        @JsonProperty("KeyExpiry") Instant keyExpiry, // absent or zero time = never expires
        @JsonProperty("KeySignature") byte[] keySignature,
        @JsonProperty("Machine") MachinePublicKey machine,
        @JsonProperty("DiscoKey") DiscoPublicKey discoKey,
        @JsonProperty("Addresses") List<IpPrefix> addresses, // 100.x.y.z/32, fd7a:115c:a1e0::.../128
        @JsonProperty("AllowedIPs") List<IpPrefix> allowedIps, // empty list and absent differ
        @JsonProperty("Endpoints") List<AddrPort> endpoints,
        @JsonProperty("DERP") String legacyDerp, // "127.3.3.40:<region>", for clients before capver 111
        @JsonProperty("HomeDERP") Integer homeDerp, // capver >= 111
        @JsonProperty("Hostinfo") Hostinfo hostinfo,
        @JsonProperty("Created") Instant created,
        @JsonProperty("Cap") Integer cap,
        @JsonProperty("Tags") List<String> tags,
        @JsonProperty("PrimaryRoutes") List<IpPrefix> primaryRoutes,
        @JsonProperty("LastSeen") Instant lastSeen,
        @JsonProperty("Online") Boolean online,
        @JsonProperty("MachineAuthorized") Boolean machineAuthorized, // must be true on the self node
        @JsonProperty("Capabilities") List<String> capabilities, // deprecated: use CapMap
        @JsonProperty("CapMap") Map<String, List<JsonNode>> capMap,
        @JsonProperty("UnsignedPeerAPIOnly") Boolean unsignedPeerApiOnly,
        @JsonProperty("ComputedName") String computedName,
        @JsonProperty("ComputedNameWithHost") String computedNameWithHost,
        @JsonProperty("DataPlaneAuditLogID") String dataPlaneAuditLogId,
        @JsonProperty("Expired") Boolean expired,
        @JsonProperty("SelfNodeV4MasqAddrForThisPeer") InetAddress selfNodeV4MasqAddrForThisPeer,
        @JsonProperty("SelfNodeV6MasqAddrForThisPeer") InetAddress selfNodeV6MasqAddrForThisPeer,
        @JsonProperty("IsWireGuardOnly") Boolean isWireGuardOnly,
        @JsonProperty("IsJailed") Boolean isJailed,
        @JsonProperty("ExitNodeDNSResolvers") List<DNSResolver> exitNodeDnsResolvers
) {

    /** The home DERP region from HomeDERP, else from the legacy DERP string; 0 if neither. */
    public int derpRegion() {
        if (homeDerp != null && homeDerp != 0) return homeDerp;
        String prefix = Tailcfg.DERP_MAGIC_IP + ":";
        if (legacyDerp != null && legacyDerp.startsWith(prefix)) {
            try {
                return Integer.parseInt(legacyDerp.substring(prefix.length()));
            } catch (NumberFormatException e) {
                return 0;
            }
        }
        return 0;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this record's values, to change a few. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.id = id;
        b.stableId = stableId;
        b.name = name;
        b.user = user;
        b.sharer = sharer;
        b.key = key;
        b.keyExpiry = keyExpiry;
        b.keySignature = keySignature;
        b.machine = machine;
        b.discoKey = discoKey;
        b.addresses = addresses;
        b.allowedIps = allowedIps;
        b.endpoints = endpoints;
        b.legacyDerp = legacyDerp;
        b.homeDerp = homeDerp;
        b.hostinfo = hostinfo;
        b.created = created;
        b.cap = cap;
        b.tags = tags;
        b.primaryRoutes = primaryRoutes;
        b.lastSeen = lastSeen;
        b.online = online;
        b.machineAuthorized = machineAuthorized;
        b.capabilities = capabilities;
        b.capMap = capMap;
        b.unsignedPeerApiOnly = unsignedPeerApiOnly;
        b.computedName = computedName;
        b.computedNameWithHost = computedNameWithHost;
        b.dataPlaneAuditLogId = dataPlaneAuditLogId;
        b.expired = expired;
        b.selfNodeV4MasqAddrForThisPeer = selfNodeV4MasqAddrForThisPeer;
        b.selfNodeV6MasqAddrForThisPeer = selfNodeV6MasqAddrForThisPeer;
        b.isWireGuardOnly = isWireGuardOnly;
        b.isJailed = isJailed;
        b.exitNodeDnsResolvers = exitNodeDnsResolvers;
        return b;
    }

    /** Field-by-field construction; unset fields stay null (absent on the wire). */
    public static final class Builder {
        private Long id;
        private String stableId;
        private String name;
        private Long user;
        private Long sharer;
        private NodePublicKey key;
        private Instant keyExpiry;
        private byte[] keySignature;
        private MachinePublicKey machine;
        private DiscoPublicKey discoKey;
        private List<IpPrefix> addresses;
        private List<IpPrefix> allowedIps;
        private List<AddrPort> endpoints;
        private String legacyDerp;
        private Integer homeDerp;
        private Hostinfo hostinfo;
        private Instant created;
        private Integer cap;
        private List<String> tags;
        private List<IpPrefix> primaryRoutes;
        private Instant lastSeen;
        private Boolean online;
        private Boolean machineAuthorized;
        private List<String> capabilities;
        private Map<String, List<JsonNode>> capMap;
        private Boolean unsignedPeerApiOnly;
        private String computedName;
        private String computedNameWithHost;
        private String dataPlaneAuditLogId;
        private Boolean expired;
        private InetAddress selfNodeV4MasqAddrForThisPeer;
        private InetAddress selfNodeV6MasqAddrForThisPeer;
        private Boolean isWireGuardOnly;
        private Boolean isJailed;
        private List<DNSResolver> exitNodeDnsResolvers;

        private Builder() {}

        public Builder id(Long id) {
            this.id = id;
            return this;
        }

        public Builder stableId(String stableId) {
            this.stableId = stableId;
            return this;
        }

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        public Builder user(Long user) {
            this.user = user;
            return this;
        }

        public Builder sharer(Long sharer) {
            this.sharer = sharer;
            return this;
        }

        public Builder key(NodePublicKey key) {
            this.key = key;
            return this;
        }

        public Builder keyExpiry(Instant keyExpiry) {
            this.keyExpiry = keyExpiry;
            return this;
        }

        public Builder keySignature(byte[] keySignature) {
            this.keySignature = keySignature;
            return this;
        }

        public Builder machine(MachinePublicKey machine) {
            this.machine = machine;
            return this;
        }

        public Builder discoKey(DiscoPublicKey discoKey) {
            this.discoKey = discoKey;
            return this;
        }

        public Builder addresses(List<IpPrefix> addresses) {
            this.addresses = addresses;
            return this;
        }

        public Builder allowedIps(List<IpPrefix> allowedIps) {
            this.allowedIps = allowedIps;
            return this;
        }

        public Builder endpoints(List<AddrPort> endpoints) {
            this.endpoints = endpoints;
            return this;
        }

        public Builder legacyDerp(String legacyDerp) {
            this.legacyDerp = legacyDerp;
            return this;
        }

        public Builder homeDerp(Integer homeDerp) {
            this.homeDerp = homeDerp;
            return this;
        }

        public Builder hostinfo(Hostinfo hostinfo) {
            this.hostinfo = hostinfo;
            return this;
        }

        public Builder created(Instant created) {
            this.created = created;
            return this;
        }

        public Builder cap(Integer cap) {
            this.cap = cap;
            return this;
        }

        public Builder tags(List<String> tags) {
            this.tags = tags;
            return this;
        }

        public Builder primaryRoutes(List<IpPrefix> primaryRoutes) {
            this.primaryRoutes = primaryRoutes;
            return this;
        }

        public Builder lastSeen(Instant lastSeen) {
            this.lastSeen = lastSeen;
            return this;
        }

        public Builder online(Boolean online) {
            this.online = online;
            return this;
        }

        public Builder machineAuthorized(Boolean machineAuthorized) {
            this.machineAuthorized = machineAuthorized;
            return this;
        }

        public Builder capabilities(List<String> capabilities) {
            this.capabilities = capabilities;
            return this;
        }

        public Builder capMap(Map<String, List<JsonNode>> capMap) {
            this.capMap = capMap;
            return this;
        }

        public Builder unsignedPeerApiOnly(Boolean unsignedPeerApiOnly) {
            this.unsignedPeerApiOnly = unsignedPeerApiOnly;
            return this;
        }

        public Builder computedName(String computedName) {
            this.computedName = computedName;
            return this;
        }

        public Builder computedNameWithHost(String computedNameWithHost) {
            this.computedNameWithHost = computedNameWithHost;
            return this;
        }

        public Builder dataPlaneAuditLogId(String dataPlaneAuditLogId) {
            this.dataPlaneAuditLogId = dataPlaneAuditLogId;
            return this;
        }

        public Builder expired(Boolean expired) {
            this.expired = expired;
            return this;
        }

        public Builder selfNodeV4MasqAddrForThisPeer(InetAddress selfNodeV4MasqAddrForThisPeer) {
            this.selfNodeV4MasqAddrForThisPeer = selfNodeV4MasqAddrForThisPeer;
            return this;
        }

        public Builder selfNodeV6MasqAddrForThisPeer(InetAddress selfNodeV6MasqAddrForThisPeer) {
            this.selfNodeV6MasqAddrForThisPeer = selfNodeV6MasqAddrForThisPeer;
            return this;
        }

        public Builder isWireGuardOnly(Boolean isWireGuardOnly) {
            this.isWireGuardOnly = isWireGuardOnly;
            return this;
        }

        public Builder isJailed(Boolean isJailed) {
            this.isJailed = isJailed;
            return this;
        }

        public Builder exitNodeDnsResolvers(List<DNSResolver> exitNodeDnsResolvers) {
            this.exitNodeDnsResolvers = exitNodeDnsResolvers;
            return this;
        }

        /** Sets the home DERP region both ways: HomeDERP (capver >= 111) and the legacy "127.3.3.40:<region>". */
        public Builder homeDerpRegion(int regionId) {
            this.homeDerp = regionId;
            this.legacyDerp = Tailcfg.legacyDerp(regionId);
            return this;
        }

        public Node build() {
            return new Node(id, stableId, name, user, sharer, key, keyExpiry, keySignature, machine, discoKey, addresses, allowedIps, endpoints, legacyDerp, homeDerp, hostinfo, created, cap, tags, primaryRoutes, lastSeen, online, machineAuthorized, capabilities, capMap, unsignedPeerApiOnly, computedName, computedNameWithHost, dataPlaneAuditLogId, expired, selfNodeV4MasqAddrForThisPeer, selfNodeV6MasqAddrForThisPeer, isWireGuardOnly, isJailed, exitNodeDnsResolvers);
        }
    }
}
