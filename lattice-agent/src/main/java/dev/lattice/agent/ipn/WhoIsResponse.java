package dev.lattice.agent.ipn;

import com.fasterxml.jackson.annotation.JsonProperty;

/** {@code lattice whois IP}: the node that owns an address and its user (tailscale's {@code apitype.WhoIsResponse}). */
public record WhoIsResponse(@JsonProperty("Node") PeerStatus node, @JsonProperty("UserProfile") Status.UserProfileJson userProfile) {}
