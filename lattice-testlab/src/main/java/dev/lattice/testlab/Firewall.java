package dev.lattice.testlab;

/**
 * Extra filtering on a {@link Router} or on a host directly on the internet, on top of its NAT. Switchable at
 * runtime with {@link Router#blockUdp(boolean)} / {@link NatLab#blockUdp(String, boolean)}.
 */
public enum Firewall {
    /** Nothing beyond the NAT's own stateful filter. */
    NONE,

    /**
     * Drops every UDP datagram crossing the outside device, both directions (a corporate firewall that only lets
     * TCP through): STUN and direct WireGuard fail, DERP over TCP still works.
     */
    DROP_UDP;

    /** The nftables table holding the UDP block; its own table so that it can be added and deleted alone. */
    static final String TABLE = "lt_block_udp";

    /**
     * Installs or removes the UDP block on {@code host}. {@code outsideDev} is the device towards the internet:
     * for a router, forwarded UDP is dropped whatever the devices, and UDP to or from the router itself only on
     * that device; for a host, only on that device (so loopback and tunnel devices keep working).
     */
    static void setUdpBlocked(Host host, String outsideDev, boolean blocked) {
        // delete-then-add in one transaction makes both directions idempotent
        String reset = "table inet " + TABLE + " {}\ndelete table inet " + TABLE + "\n";
        if (!blocked) {
            host.nft(reset);
            return;
        }
        host.nft(reset + """
                table inet %1$s {
                  chain forward { type filter hook forward priority -10; policy accept; meta l4proto udp drop; }
                  chain input { type filter hook input priority -10; policy accept; iifname "%2$s" meta l4proto udp drop; }
                  chain output { type filter hook output priority -10; policy accept; oifname "%2$s" meta l4proto udp drop; }
                }
                """.formatted(TABLE, outsideDev));
    }
}
