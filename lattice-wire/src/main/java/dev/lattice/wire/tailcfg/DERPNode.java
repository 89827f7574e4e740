package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;

/** One DERP relay (and/or STUN server) in a region. Go: derpmap.go DERPNode. */
public record DERPNode(
        @JsonProperty("Name") String name, // unique across regions, e.g. "900a"
        @JsonProperty("RegionID") Integer regionId,
        @JsonProperty("HostName") String hostName,
        @JsonProperty("CertName") String certName, // "sha256-raw:<hex>" pins a self-signed cert
        @JsonProperty("IPv4") String ipv4, // an address, or "none"
        @JsonProperty("IPv6") String ipv6, // an address, or "none"
        @JsonProperty("STUNPort") Integer stunPort, // 0/absent = 3478, -1 = no STUN
        @JsonProperty("STUNOnly") Boolean stunOnly,
        @JsonProperty("DERPPort") Integer derpPort, // 0/absent = 443
        @JsonProperty("InsecureForTests") Boolean insecureForTests,
        @JsonProperty("STUNTestIP") String stunTestIp,
        @JsonProperty("CanPort80") Boolean canPort80
) {

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this record's values, to change a few. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.name = name;
        b.regionId = regionId;
        b.hostName = hostName;
        b.certName = certName;
        b.ipv4 = ipv4;
        b.ipv6 = ipv6;
        b.stunPort = stunPort;
        b.stunOnly = stunOnly;
        b.derpPort = derpPort;
        b.insecureForTests = insecureForTests;
        b.stunTestIp = stunTestIp;
        b.canPort80 = canPort80;
        return b;
    }

    /** Field-by-field construction; unset fields stay null (absent on the wire). */
    public static final class Builder {
        private String name;
        private Integer regionId;
        private String hostName;
        private String certName;
        private String ipv4;
        private String ipv6;
        private Integer stunPort;
        private Boolean stunOnly;
        private Integer derpPort;
        private Boolean insecureForTests;
        private String stunTestIp;
        private Boolean canPort80;

        private Builder() {}

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        public Builder regionId(Integer regionId) {
            this.regionId = regionId;
            return this;
        }

        public Builder hostName(String hostName) {
            this.hostName = hostName;
            return this;
        }

        public Builder certName(String certName) {
            this.certName = certName;
            return this;
        }

        public Builder ipv4(String ipv4) {
            this.ipv4 = ipv4;
            return this;
        }

        public Builder ipv6(String ipv6) {
            this.ipv6 = ipv6;
            return this;
        }

        public Builder stunPort(Integer stunPort) {
            this.stunPort = stunPort;
            return this;
        }

        public Builder stunOnly(Boolean stunOnly) {
            this.stunOnly = stunOnly;
            return this;
        }

        public Builder derpPort(Integer derpPort) {
            this.derpPort = derpPort;
            return this;
        }

        public Builder insecureForTests(Boolean insecureForTests) {
            this.insecureForTests = insecureForTests;
            return this;
        }

        public Builder stunTestIp(String stunTestIp) {
            this.stunTestIp = stunTestIp;
            return this;
        }

        public Builder canPort80(Boolean canPort80) {
            this.canPort80 = canPort80;
            return this;
        }

        public DERPNode build() {
            return new DERPNode(name, regionId, hostName, certName, ipv4, ipv6, stunPort, stunOnly, derpPort, insecureForTests, stunTestIp, canPort80);
        }
    }
}
