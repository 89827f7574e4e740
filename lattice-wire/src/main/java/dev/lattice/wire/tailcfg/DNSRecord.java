package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;

/** An extra DNS record served by MagicDNS; Type absent means "A" or "AAAA" by the value. Go: tailcfg.go DNSRecord. */
public record DNSRecord(
        @JsonProperty("Name") String name,
        @JsonProperty("Type") String type,
        @JsonProperty("Value") String value
) {
}
