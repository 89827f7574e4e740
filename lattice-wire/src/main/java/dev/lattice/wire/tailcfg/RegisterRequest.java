package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.crypto.key.NodePublicKey;
import java.time.Instant;

/** Body of {@code POST /machine/register}. Go: tailcfg.go RegisterRequest. */
public record RegisterRequest(
        @JsonProperty("Version") Integer version, // client capability version
        @JsonProperty("NodeKey") NodePublicKey nodeKey,
        @JsonProperty("OldNodeKey") NodePublicKey oldNodeKey, // zero key unless rotating
        @JsonProperty("NLKey") String nlKey, // tailnet-lock key, "nlpub:<hex>"
        @JsonProperty("Auth") RegisterResponseAuth auth,
        @JsonProperty("Expiry") Instant expiry, // zero = no request; in the past = log out
        @JsonProperty("Followup") String followup, // an AuthURL the client waits on
        @JsonProperty("Hostinfo") Hostinfo hostinfo,
        @JsonProperty("Ephemeral") Boolean ephemeral,
        @JsonProperty("NodeKeySignature") byte[] nodeKeySignature, // tailnet-lock signature (Go []byte: base64)
        @JsonProperty("SignatureType") String signatureType, // "signature-none", "signature-v1", "signature-v2"
        @JsonProperty("Timestamp") Instant timestamp,
        @JsonProperty("DeviceCert") byte[] deviceCert,
        @JsonProperty("Signature") byte[] signature,
        @JsonProperty("Tailnet") String tailnet
) {

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this record's values, to change a few. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.version = version;
        b.nodeKey = nodeKey;
        b.oldNodeKey = oldNodeKey;
        b.nlKey = nlKey;
        b.auth = auth;
        b.expiry = expiry;
        b.followup = followup;
        b.hostinfo = hostinfo;
        b.ephemeral = ephemeral;
        b.nodeKeySignature = nodeKeySignature;
        b.signatureType = signatureType;
        b.timestamp = timestamp;
        b.deviceCert = deviceCert;
        b.signature = signature;
        b.tailnet = tailnet;
        return b;
    }

    /** Field-by-field construction; unset fields stay null (absent on the wire). */
    public static final class Builder {
        private Integer version;
        private NodePublicKey nodeKey;
        private NodePublicKey oldNodeKey;
        private String nlKey;
        private RegisterResponseAuth auth;
        private Instant expiry;
        private String followup;
        private Hostinfo hostinfo;
        private Boolean ephemeral;
        private byte[] nodeKeySignature;
        private String signatureType;
        private Instant timestamp;
        private byte[] deviceCert;
        private byte[] signature;
        private String tailnet;

        private Builder() {}

        public Builder version(Integer version) {
            this.version = version;
            return this;
        }

        public Builder nodeKey(NodePublicKey nodeKey) {
            this.nodeKey = nodeKey;
            return this;
        }

        public Builder oldNodeKey(NodePublicKey oldNodeKey) {
            this.oldNodeKey = oldNodeKey;
            return this;
        }

        public Builder nlKey(String nlKey) {
            this.nlKey = nlKey;
            return this;
        }

        public Builder auth(RegisterResponseAuth auth) {
            this.auth = auth;
            return this;
        }

        public Builder expiry(Instant expiry) {
            this.expiry = expiry;
            return this;
        }

        public Builder followup(String followup) {
            this.followup = followup;
            return this;
        }

        public Builder hostinfo(Hostinfo hostinfo) {
            this.hostinfo = hostinfo;
            return this;
        }

        public Builder ephemeral(Boolean ephemeral) {
            this.ephemeral = ephemeral;
            return this;
        }

        public Builder nodeKeySignature(byte[] nodeKeySignature) {
            this.nodeKeySignature = nodeKeySignature;
            return this;
        }

        public Builder signatureType(String signatureType) {
            this.signatureType = signatureType;
            return this;
        }

        public Builder timestamp(Instant timestamp) {
            this.timestamp = timestamp;
            return this;
        }

        public Builder deviceCert(byte[] deviceCert) {
            this.deviceCert = deviceCert;
            return this;
        }

        public Builder signature(byte[] signature) {
            this.signature = signature;
            return this;
        }

        public Builder tailnet(String tailnet) {
            this.tailnet = tailnet;
            return this;
        }

        public RegisterRequest build() {
            return new RegisterRequest(version, nodeKey, oldNodeKey, nlKey, auth, expiry, followup, hostinfo, ephemeral, nodeKeySignature, signatureType, timestamp, deviceCert, signature, tailnet);
        }
    }
}
