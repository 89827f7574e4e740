package dev.lattice.agent.ipn;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * A network check (tailscale's {@code netcheck.Report}): whether UDP works, the public address STUN saw,
 * whether the NAT maps differently per destination (null = unknown, needs two STUN servers), the preferred DERP
 * region and the measured latency to each region in seconds.
 */
public record NetcheckReport(
        @JsonProperty("UDP") boolean udp,
        @JsonProperty("IPv4") boolean ipv4,
        @JsonProperty("IPv6") boolean ipv6,
        @JsonProperty("GlobalV4") String globalV4,
        @JsonProperty("GlobalV6") String globalV6,
        @JsonProperty("MappingVariesByDestIP") Boolean mappingVariesByDestIp,
        @JsonProperty("PreferredDERP") int preferredDerp,
        @JsonProperty("RegionLatency") Map<Integer, Double> regionLatencySeconds,
        @JsonProperty("RegionV4Latency") Map<Integer, Double> regionV4LatencySeconds) {}
