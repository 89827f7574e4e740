package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.InetAddress;
import java.util.List;

/** A DNS resolver: "1.1.1.1", "1.1.1.1:53", "https://..." (DoH) or "tls://...". Go: types/dnstype/dnstype.go (dnstype.Resolver). */
public record DNSResolver(
        @JsonProperty("Addr") String addr,
        @JsonProperty("BootstrapResolution") List<InetAddress> bootstrapResolution,
        @JsonProperty("UseWithExitNode") Boolean useWithExitNode
) {
}
