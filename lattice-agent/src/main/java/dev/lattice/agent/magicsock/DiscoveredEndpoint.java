package dev.lattice.agent.magicsock;

import dev.lattice.wire.tailcfg.AddrPort;

/** One of our own UDP endpoints as reported to control: the address and its {@code tailcfg.EndpointType}. */
public record DiscoveredEndpoint(AddrPort addr, int type) {}
