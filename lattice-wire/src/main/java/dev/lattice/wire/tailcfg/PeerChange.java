package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** One entry of MapResponse.PeersChangedPatch: a delta to one peer; null components are unchanged. Go: tailcfg.go PeerChange. */
public record PeerChange(
        @JsonProperty("NodeID") Long nodeId,
        @JsonProperty("DERPRegion") Integer derpRegion,
        @JsonProperty("Cap") Integer cap,
        @JsonProperty("CapMap") Map<String, List<JsonNode>> capMap,
        @JsonProperty("Endpoints") List<AddrPort> endpoints,
        @JsonProperty("Key") NodePublicKey key,
        @JsonProperty("KeySignature") byte[] keySignature,
        @JsonProperty("DiscoKey") DiscoPublicKey discoKey,
        @JsonProperty("Online") Boolean online,
        @JsonProperty("LastSeen") Instant lastSeen,
        @JsonProperty("KeyExpiry") Instant keyExpiry
) {

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this record's values, to change a few. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.nodeId = nodeId;
        b.derpRegion = derpRegion;
        b.cap = cap;
        b.capMap = capMap;
        b.endpoints = endpoints;
        b.key = key;
        b.keySignature = keySignature;
        b.discoKey = discoKey;
        b.online = online;
        b.lastSeen = lastSeen;
        b.keyExpiry = keyExpiry;
        return b;
    }

    /** Field-by-field construction; unset fields stay null (absent on the wire). */
    public static final class Builder {
        private Long nodeId;
        private Integer derpRegion;
        private Integer cap;
        private Map<String, List<JsonNode>> capMap;
        private List<AddrPort> endpoints;
        private NodePublicKey key;
        private byte[] keySignature;
        private DiscoPublicKey discoKey;
        private Boolean online;
        private Instant lastSeen;
        private Instant keyExpiry;

        private Builder() {}

        public Builder nodeId(Long nodeId) {
            this.nodeId = nodeId;
            return this;
        }

        public Builder derpRegion(Integer derpRegion) {
            this.derpRegion = derpRegion;
            return this;
        }

        public Builder cap(Integer cap) {
            this.cap = cap;
            return this;
        }

        public Builder capMap(Map<String, List<JsonNode>> capMap) {
            this.capMap = capMap;
            return this;
        }

        public Builder endpoints(List<AddrPort> endpoints) {
            this.endpoints = endpoints;
            return this;
        }

        public Builder key(NodePublicKey key) {
            this.key = key;
            return this;
        }

        public Builder keySignature(byte[] keySignature) {
            this.keySignature = keySignature;
            return this;
        }

        public Builder discoKey(DiscoPublicKey discoKey) {
            this.discoKey = discoKey;
            return this;
        }

        public Builder online(Boolean online) {
            this.online = online;
            return this;
        }

        public Builder lastSeen(Instant lastSeen) {
            this.lastSeen = lastSeen;
            return this;
        }

        public Builder keyExpiry(Instant keyExpiry) {
            this.keyExpiry = keyExpiry;
            return this;
        }

        public PeerChange build() {
            return new PeerChange(nodeId, derpRegion, cap, capMap, endpoints, key, keySignature, discoKey, online, lastSeen, keyExpiry);
        }
    }
}
