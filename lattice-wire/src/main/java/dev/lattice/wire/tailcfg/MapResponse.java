package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.annotation.JsonSerialize;

/** One message of the map stream. Null components mean "unchanged" and are not written. Go: tailcfg.go MapResponse. */
public record MapResponse(
        @JsonProperty("MapSessionHandle") String mapSessionHandle,
        @JsonProperty("Seq") Long seq,
        @JsonProperty("KeepAlive") Boolean keepAlive,
        @JsonProperty("PingRequest") PingRequest pingRequest,
        @JsonProperty("PopBrowserURL") String popBrowserUrl,
        @JsonProperty("Node") Node node, // the first non-keepalive message must have it
        @JsonProperty("DERPMap") DERPMap derpMap,
        @JsonProperty("Peers") @JsonSerialize(contentUsing = PeerJsonCache.class) List<Node> peers, // full list, sorted by ID
        @JsonProperty("PeersChanged") @JsonSerialize(contentUsing = PeerJsonCache.class) List<Node> peersChanged,
        @JsonProperty("PeersRemoved") List<Long> peersRemoved,
        @JsonProperty("PeersChangedPatch") List<PeerChange> peersChangedPatch,
        @JsonProperty("PeerSeenChange") Map<Long, Boolean> peerSeenChange,
        @JsonProperty("OnlineChange") Map<Long, Boolean> onlineChange,
        @JsonProperty("DNSConfig") DNSConfig dnsConfig,
        @JsonProperty("Domain") String domain,
        @JsonProperty("CollectServices") Boolean collectServices,
        @JsonProperty("PacketFilter") List<FilterRule> packetFilter,
        @JsonProperty("PacketFilters") Map<String, List<FilterRule>> packetFilters, // named chunks; a null value deletes, key "*" resets
        @JsonProperty("UserProfiles") List<UserProfile> userProfiles,
        @JsonProperty("Health") List<String> health,
        @JsonProperty("DisplayMessages") Map<String, JsonNode> displayMessages,
        @JsonProperty("SSHPolicy") JsonNode sshPolicy,
        @JsonProperty("ControlTime") Instant controlTime,
        @JsonProperty("TKAInfo") JsonNode tkaInfo,
        @JsonProperty("DomainDataPlaneAuditLogID") String domainDataPlaneAuditLogId,
        @JsonProperty("Debug") Debug debug,
        @JsonProperty("ControlDialPlan") JsonNode controlDialPlan,
        @JsonProperty("ClientVersion") ClientVersion clientVersion,
        @JsonProperty("DefaultAutoUpdate") Boolean deprecatedDefaultAutoUpdate
) {

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this record's values, to change a few. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.mapSessionHandle = mapSessionHandle;
        b.seq = seq;
        b.keepAlive = keepAlive;
        b.pingRequest = pingRequest;
        b.popBrowserUrl = popBrowserUrl;
        b.node = node;
        b.derpMap = derpMap;
        b.peers = peers;
        b.peersChanged = peersChanged;
        b.peersRemoved = peersRemoved;
        b.peersChangedPatch = peersChangedPatch;
        b.peerSeenChange = peerSeenChange;
        b.onlineChange = onlineChange;
        b.dnsConfig = dnsConfig;
        b.domain = domain;
        b.collectServices = collectServices;
        b.packetFilter = packetFilter;
        b.packetFilters = packetFilters;
        b.userProfiles = userProfiles;
        b.health = health;
        b.displayMessages = displayMessages;
        b.sshPolicy = sshPolicy;
        b.controlTime = controlTime;
        b.tkaInfo = tkaInfo;
        b.domainDataPlaneAuditLogId = domainDataPlaneAuditLogId;
        b.debug = debug;
        b.controlDialPlan = controlDialPlan;
        b.clientVersion = clientVersion;
        b.deprecatedDefaultAutoUpdate = deprecatedDefaultAutoUpdate;
        return b;
    }

    /** Field-by-field construction; unset fields stay null (absent on the wire). */
    public static final class Builder {
        private String mapSessionHandle;
        private Long seq;
        private Boolean keepAlive;
        private PingRequest pingRequest;
        private String popBrowserUrl;
        private Node node;
        private DERPMap derpMap;
        private List<Node> peers;
        private List<Node> peersChanged;
        private List<Long> peersRemoved;
        private List<PeerChange> peersChangedPatch;
        private Map<Long, Boolean> peerSeenChange;
        private Map<Long, Boolean> onlineChange;
        private DNSConfig dnsConfig;
        private String domain;
        private Boolean collectServices;
        private List<FilterRule> packetFilter;
        private Map<String, List<FilterRule>> packetFilters;
        private List<UserProfile> userProfiles;
        private List<String> health;
        private Map<String, JsonNode> displayMessages;
        private JsonNode sshPolicy;
        private Instant controlTime;
        private JsonNode tkaInfo;
        private String domainDataPlaneAuditLogId;
        private Debug debug;
        private JsonNode controlDialPlan;
        private ClientVersion clientVersion;
        private Boolean deprecatedDefaultAutoUpdate;

        private Builder() {}

        public Builder mapSessionHandle(String mapSessionHandle) {
            this.mapSessionHandle = mapSessionHandle;
            return this;
        }

        public Builder seq(Long seq) {
            this.seq = seq;
            return this;
        }

        public Builder keepAlive(Boolean keepAlive) {
            this.keepAlive = keepAlive;
            return this;
        }

        public Builder pingRequest(PingRequest pingRequest) {
            this.pingRequest = pingRequest;
            return this;
        }

        public Builder popBrowserUrl(String popBrowserUrl) {
            this.popBrowserUrl = popBrowserUrl;
            return this;
        }

        public Builder node(Node node) {
            this.node = node;
            return this;
        }

        public Builder derpMap(DERPMap derpMap) {
            this.derpMap = derpMap;
            return this;
        }

        public Builder peers(List<Node> peers) {
            this.peers = peers;
            return this;
        }

        public Builder peersChanged(List<Node> peersChanged) {
            this.peersChanged = peersChanged;
            return this;
        }

        public Builder peersRemoved(List<Long> peersRemoved) {
            this.peersRemoved = peersRemoved;
            return this;
        }

        public Builder peersChangedPatch(List<PeerChange> peersChangedPatch) {
            this.peersChangedPatch = peersChangedPatch;
            return this;
        }

        public Builder peerSeenChange(Map<Long, Boolean> peerSeenChange) {
            this.peerSeenChange = peerSeenChange;
            return this;
        }

        public Builder onlineChange(Map<Long, Boolean> onlineChange) {
            this.onlineChange = onlineChange;
            return this;
        }

        public Builder dnsConfig(DNSConfig dnsConfig) {
            this.dnsConfig = dnsConfig;
            return this;
        }

        public Builder domain(String domain) {
            this.domain = domain;
            return this;
        }

        public Builder collectServices(Boolean collectServices) {
            this.collectServices = collectServices;
            return this;
        }

        public Builder packetFilter(List<FilterRule> packetFilter) {
            this.packetFilter = packetFilter;
            return this;
        }

        public Builder packetFilters(Map<String, List<FilterRule>> packetFilters) {
            this.packetFilters = packetFilters;
            return this;
        }

        public Builder userProfiles(List<UserProfile> userProfiles) {
            this.userProfiles = userProfiles;
            return this;
        }

        public Builder health(List<String> health) {
            this.health = health;
            return this;
        }

        public Builder displayMessages(Map<String, JsonNode> displayMessages) {
            this.displayMessages = displayMessages;
            return this;
        }

        public Builder sshPolicy(JsonNode sshPolicy) {
            this.sshPolicy = sshPolicy;
            return this;
        }

        public Builder controlTime(Instant controlTime) {
            this.controlTime = controlTime;
            return this;
        }

        public Builder tkaInfo(JsonNode tkaInfo) {
            this.tkaInfo = tkaInfo;
            return this;
        }

        public Builder domainDataPlaneAuditLogId(String domainDataPlaneAuditLogId) {
            this.domainDataPlaneAuditLogId = domainDataPlaneAuditLogId;
            return this;
        }

        public Builder debug(Debug debug) {
            this.debug = debug;
            return this;
        }

        public Builder controlDialPlan(JsonNode controlDialPlan) {
            this.controlDialPlan = controlDialPlan;
            return this;
        }

        public Builder clientVersion(ClientVersion clientVersion) {
            this.clientVersion = clientVersion;
            return this;
        }

        public Builder deprecatedDefaultAutoUpdate(Boolean deprecatedDefaultAutoUpdate) {
            this.deprecatedDefaultAutoUpdate = deprecatedDefaultAutoUpdate;
            return this;
        }

        public MapResponse build() {
            return new MapResponse(mapSessionHandle, seq, keepAlive, pingRequest, popBrowserUrl, node, derpMap, peers, peersChanged, peersRemoved, peersChangedPatch, peerSeenChange, onlineChange, dnsConfig, domain, collectServices, packetFilter, packetFilters, userProfiles, health, displayMessages, sshPolicy, controlTime, tkaInfo, domainDataPlaneAuditLogId, debug, controlDialPlan, clientVersion, deprecatedDefaultAutoUpdate);
        }
    }
}
