package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;

/** A service a node advertises in Hostinfo.Services ("tcp", "udp", "peerapi4", "peerapi6", "peerapi-dns-proxy"). Go: tailcfg.go Service. */
public record Service(
        @JsonProperty("Proto") String proto,
        @JsonProperty("Port") Integer port,
        @JsonProperty("Description") String description
) {
}
