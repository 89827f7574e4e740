package dev.lattice.agent.magicsock;

import java.time.Instant;

/**
 * How a peer is reached now, for status: {@code curAddr} is the direct "ip:port" in use ("" when relayed),
 * {@code relay} the DERP region code packets would take (its home region), {@code lastRx} the last time an
 * authenticated packet arrived from it (null if never).
 */
public record PeerPath(String curAddr, String relay, Instant lastRx) {}
