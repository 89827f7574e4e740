package dev.lattice.control.netmap;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.wire.tailcfg.DNSConfig;
import dev.lattice.wire.tailcfg.DNSRecord;
import dev.lattice.wire.tailcfg.DNSResolver;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The DNS config every node gets, as headscale builds it ({@code types/config.go dnsToTailcfgDNS}): MagicDNS is
 * {@code Proxied}; global nameservers are {@code Resolvers} when override_local_dns is set, else fallback resolvers;
 * split DNS becomes {@code Routes}; the base domain comes first in the search {@code Domains}.
 */
public final class DnsConfigs {
    private DnsConfigs() {}

    /** With the records of {@code dns.extra_records} (none when {@code dns.extra_records_path} is set). */
    public static DNSConfig build(ControlConfig.Dns dns) {
        return build(dns, dns.extraRecords().stream().map(r -> new DNSRecord(r.name(), r.type(), r.value())).toList());
    }

    /** With {@code extra} as the extra records (those of the {@code dns.extra_records_path} file). */
    public static DNSConfig build(ControlConfig.Dns dns, List<DNSRecord> extra) {
        List<DNSResolver> global = resolvers(dns.globalNameservers());
        Map<String, List<DNSResolver>> routes = new LinkedHashMap<>();
        dns.splitNameservers().forEach((suffix, ns) -> routes.put(suffix, resolvers(ns)));
        List<String> domains = new ArrayList<>();
        if (!dns.baseDomain().isEmpty()) domains.add(dns.baseDomain());
        domains.addAll(dns.searchDomains());
        return DNSConfig.builder()
                .proxied(dns.magicDns())
                .resolvers(dns.overrideLocalDns() ? global : null)
                .fallbackResolvers(dns.overrideLocalDns() ? null : global)
                .routes(routes.isEmpty() ? null : routes)
                .domains(domains.isEmpty() ? null : domains)
                .extraRecords(extra.isEmpty() ? null : extra)
                .build();
    }

    private static List<DNSResolver> resolvers(List<String> addrs) {
        return addrs.stream().map(a -> new DNSResolver(a, null, null)).toList();
    }
}
