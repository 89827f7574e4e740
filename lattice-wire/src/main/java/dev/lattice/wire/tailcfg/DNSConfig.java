package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;

/** MapResponse.DNSConfig: resolvers, split-DNS routes, search domains and extra records. Go: tailcfg.go DNSConfig. */
public record DNSConfig(
        @JsonProperty("Resolvers") List<DNSResolver> resolvers,
        @JsonProperty("Routes") Map<String, List<DNSResolver>> routes, // suffix -> resolvers; an empty list = answered by 100.100.100.100
        @JsonProperty("FallbackResolvers") List<DNSResolver> fallbackResolvers,
        @JsonProperty("Domains") List<String> domains, // search domains
        @JsonProperty("Proxied") Boolean proxied, // MagicDNS on
        @JsonProperty("Nameservers") List<InetAddress> nameservers, // deprecated; use Resolvers
        @JsonProperty("CertDomains") List<String> certDomains,
        @JsonProperty("ExtraRecords") List<DNSRecord> extraRecords,
        @JsonProperty("ExitNodeFilteredSet") List<String> exitNodeFilteredSet,
        @JsonProperty("TempCorpIssue13969") String tempCorpIssue13969
) {

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this record's values, to change a few. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.resolvers = resolvers;
        b.routes = routes;
        b.fallbackResolvers = fallbackResolvers;
        b.domains = domains;
        b.proxied = proxied;
        b.nameservers = nameservers;
        b.certDomains = certDomains;
        b.extraRecords = extraRecords;
        b.exitNodeFilteredSet = exitNodeFilteredSet;
        b.tempCorpIssue13969 = tempCorpIssue13969;
        return b;
    }

    /** Field-by-field construction; unset fields stay null (absent on the wire). */
    public static final class Builder {
        private List<DNSResolver> resolvers;
        private Map<String, List<DNSResolver>> routes;
        private List<DNSResolver> fallbackResolvers;
        private List<String> domains;
        private Boolean proxied;
        private List<InetAddress> nameservers;
        private List<String> certDomains;
        private List<DNSRecord> extraRecords;
        private List<String> exitNodeFilteredSet;
        private String tempCorpIssue13969;

        private Builder() {}

        public Builder resolvers(List<DNSResolver> resolvers) {
            this.resolvers = resolvers;
            return this;
        }

        public Builder routes(Map<String, List<DNSResolver>> routes) {
            this.routes = routes;
            return this;
        }

        public Builder fallbackResolvers(List<DNSResolver> fallbackResolvers) {
            this.fallbackResolvers = fallbackResolvers;
            return this;
        }

        public Builder domains(List<String> domains) {
            this.domains = domains;
            return this;
        }

        public Builder proxied(Boolean proxied) {
            this.proxied = proxied;
            return this;
        }

        public Builder nameservers(List<InetAddress> nameservers) {
            this.nameservers = nameservers;
            return this;
        }

        public Builder certDomains(List<String> certDomains) {
            this.certDomains = certDomains;
            return this;
        }

        public Builder extraRecords(List<DNSRecord> extraRecords) {
            this.extraRecords = extraRecords;
            return this;
        }

        public Builder exitNodeFilteredSet(List<String> exitNodeFilteredSet) {
            this.exitNodeFilteredSet = exitNodeFilteredSet;
            return this;
        }

        public Builder tempCorpIssue13969(String tempCorpIssue13969) {
            this.tempCorpIssue13969 = tempCorpIssue13969;
            return this;
        }

        public DNSConfig build() {
            return new DNSConfig(resolvers, routes, fallbackResolvers, domains, proxied, nameservers, certDomains, extraRecords, exitNodeFilteredSet, tempCorpIssue13969);
        }
    }
}
