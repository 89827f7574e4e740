package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import java.time.Instant;
import java.util.List;

/** Body of {@code POST /machine/map}: a long poll ({@code Stream}) or a one-shot update ({@code OmitPeers}). Go: tailcfg.go MapRequest. */
public record MapRequest(
        @JsonProperty("Version") Integer version,
        @JsonProperty("Compress") String compress, // "zstd" or absent
        @JsonProperty("KeepAlive") Boolean keepAlive,
        @JsonProperty("NodeKey") NodePublicKey nodeKey,
        @JsonProperty("DiscoKey") DiscoPublicKey discoKey,
        @JsonProperty("HardwareAttestationKey") String hardwareAttestationKey, // "hwattestpub:..." passed through as text
        @JsonProperty("HardwareAttestationKeySignature") byte[] hardwareAttestationKeySignature,
        @JsonProperty("HardwareAttestationKeySignatureTimestamp") Instant hardwareAttestationKeySignatureTimestamp,
        @JsonProperty("Stream") Boolean stream,
        @JsonProperty("Hostinfo") Hostinfo hostinfo,
        @JsonProperty("MapSessionHandle") String mapSessionHandle,
        @JsonProperty("MapSessionSeq") Long mapSessionSeq,
        @JsonProperty("Endpoints") List<AddrPort> endpoints,
        @JsonProperty("EndpointTypes") List<Integer> endpointTypes, // see EndpointType, parallel to Endpoints
        @JsonProperty("TKAHead") String tkaHead,
        @JsonProperty("ReadOnly") Boolean readOnly, // deprecated, always false from current clients
        @JsonProperty("OmitPeers") Boolean omitPeers,
        @JsonProperty("DebugFlags") List<String> debugFlags,
        @JsonProperty("ConnectionHandleForTest") String connectionHandleForTest
) {

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this record's values, to change a few. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.version = version;
        b.compress = compress;
        b.keepAlive = keepAlive;
        b.nodeKey = nodeKey;
        b.discoKey = discoKey;
        b.hardwareAttestationKey = hardwareAttestationKey;
        b.hardwareAttestationKeySignature = hardwareAttestationKeySignature;
        b.hardwareAttestationKeySignatureTimestamp = hardwareAttestationKeySignatureTimestamp;
        b.stream = stream;
        b.hostinfo = hostinfo;
        b.mapSessionHandle = mapSessionHandle;
        b.mapSessionSeq = mapSessionSeq;
        b.endpoints = endpoints;
        b.endpointTypes = endpointTypes;
        b.tkaHead = tkaHead;
        b.readOnly = readOnly;
        b.omitPeers = omitPeers;
        b.debugFlags = debugFlags;
        b.connectionHandleForTest = connectionHandleForTest;
        return b;
    }

    /** Field-by-field construction; unset fields stay null (absent on the wire). */
    public static final class Builder {
        private Integer version;
        private String compress;
        private Boolean keepAlive;
        private NodePublicKey nodeKey;
        private DiscoPublicKey discoKey;
        private String hardwareAttestationKey;
        private byte[] hardwareAttestationKeySignature;
        private Instant hardwareAttestationKeySignatureTimestamp;
        private Boolean stream;
        private Hostinfo hostinfo;
        private String mapSessionHandle;
        private Long mapSessionSeq;
        private List<AddrPort> endpoints;
        private List<Integer> endpointTypes;
        private String tkaHead;
        private Boolean readOnly;
        private Boolean omitPeers;
        private List<String> debugFlags;
        private String connectionHandleForTest;

        private Builder() {}

        public Builder version(Integer version) {
            this.version = version;
            return this;
        }

        public Builder compress(String compress) {
            this.compress = compress;
            return this;
        }

        public Builder keepAlive(Boolean keepAlive) {
            this.keepAlive = keepAlive;
            return this;
        }

        public Builder nodeKey(NodePublicKey nodeKey) {
            this.nodeKey = nodeKey;
            return this;
        }

        public Builder discoKey(DiscoPublicKey discoKey) {
            this.discoKey = discoKey;
            return this;
        }

        public Builder hardwareAttestationKey(String hardwareAttestationKey) {
            this.hardwareAttestationKey = hardwareAttestationKey;
            return this;
        }

        public Builder hardwareAttestationKeySignature(byte[] hardwareAttestationKeySignature) {
            this.hardwareAttestationKeySignature = hardwareAttestationKeySignature;
            return this;
        }

        public Builder hardwareAttestationKeySignatureTimestamp(Instant hardwareAttestationKeySignatureTimestamp) {
            this.hardwareAttestationKeySignatureTimestamp = hardwareAttestationKeySignatureTimestamp;
            return this;
        }

        public Builder stream(Boolean stream) {
            this.stream = stream;
            return this;
        }

        public Builder hostinfo(Hostinfo hostinfo) {
            this.hostinfo = hostinfo;
            return this;
        }

        public Builder mapSessionHandle(String mapSessionHandle) {
            this.mapSessionHandle = mapSessionHandle;
            return this;
        }

        public Builder mapSessionSeq(Long mapSessionSeq) {
            this.mapSessionSeq = mapSessionSeq;
            return this;
        }

        public Builder endpoints(List<AddrPort> endpoints) {
            this.endpoints = endpoints;
            return this;
        }

        public Builder endpointTypes(List<Integer> endpointTypes) {
            this.endpointTypes = endpointTypes;
            return this;
        }

        public Builder tkaHead(String tkaHead) {
            this.tkaHead = tkaHead;
            return this;
        }

        public Builder readOnly(Boolean readOnly) {
            this.readOnly = readOnly;
            return this;
        }

        public Builder omitPeers(Boolean omitPeers) {
            this.omitPeers = omitPeers;
            return this;
        }

        public Builder debugFlags(List<String> debugFlags) {
            this.debugFlags = debugFlags;
            return this;
        }

        public Builder connectionHandleForTest(String connectionHandleForTest) {
            this.connectionHandleForTest = connectionHandleForTest;
            return this;
        }

        public MapRequest build() {
            return new MapRequest(version, compress, keepAlive, nodeKey, discoKey, hardwareAttestationKey, hardwareAttestationKeySignature, hardwareAttestationKeySignatureTimestamp, stream, hostinfo, mapSessionHandle, mapSessionSeq, endpoints, endpointTypes, tkaHead, readOnly, omitPeers, debugFlags, connectionHandleForTest);
        }
    }
}
