package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import tools.jackson.databind.annotation.JsonSerialize;

/** One packet-filter rule: inbound traffic from SrcIPs to DstPorts over IPProto, or a CapGrant. Go: tailcfg.go FilterRule. */
public record FilterRule(
        @JsonProperty("SrcIPs") @JsonSerialize(using = SharedListSerializer.class)
        List<String> srcIps, // "*", an IP, a CIDR, or "a-b" range
        @JsonProperty("SrcBits") List<Integer> srcBits, // deprecated
        @JsonProperty("DstPorts") List<NetPortRange> dstPorts,
        @JsonProperty("IPProto") List<Integer> ipProto, // IANA protocol numbers; absent = TCP, UDP, ICMP
        @JsonProperty("CapGrant") List<CapGrant> capGrant
) {
}
