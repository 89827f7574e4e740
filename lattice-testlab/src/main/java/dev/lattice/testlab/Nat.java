package dev.lattice.testlab;

/**
 * How a {@link Router} translates its LAN's outgoing connections to its single WAN address (nftables
 * {@code masquerade} on the WAN device). Both kinds filter inbound traffic the same way: only replies to
 * connections the LAN opened get in (conntrack established/related); everything unsolicited is dropped
 * silently, also what is addressed to the router itself.
 */
public enum Nat {
    /**
     * Endpoint-independent mapping, as home routers do: one internal ip:port keeps one external port for every
     * destination (Linux masquerade keeps the source port when the resulting tuple is unique, which it is with
     * one host per site). Filtering is address-and-port dependent (conntrack), so peers still need simultaneous
     * sends to get through.
     */
    ENDPOINT_INDEPENDENT("masquerade persistent"),

    /**
     * Address-and-port-dependent mapping ("hard" NAT): a new random external port for every destination
     * ({@code masquerade fully-random}), so the port a STUN server sees is useless to any other peer.
     */
    SYMMETRIC("masquerade fully-random");

    private final String statement;

    Nat(String statement) {
        this.statement = statement;
    }

    /** The nftables statement applied to packets leaving the WAN device. */
    String statement() {
        return statement;
    }
}
