package dev.lattice.testlab;

/**
 * A NAT router of a {@link NatLab} site: its WAN device on the internet switch, its LAN device towards the
 * site's host, forwarding on, and nftables rules for its {@link Nat} kind and {@link Firewall}. Only
 * {@link NatLab} creates routers.
 *
 * <p>Rules live in three tables so each can be inspected ({@code host().nftRuleset()}) and changed alone:
 * {@code ip lt_nat} (masquerade on the WAN), {@code inet lt_fw} (inbound on the WAN only when conntrack says
 * established or related; the rest is dropped silently, no ICMP) and, while UDP is blocked,
 * {@code inet lt_block_udp}.
 */
public final class Router {
    private final Host host;
    private final Nat nat;
    private final String wanDev;
    private final String wanAddress;
    private final String lanDev;
    private final String lanAddress;
    private boolean udpBlocked;

    Router(Host host, Nat nat, String wanDev, String wanAddress, String lanDev, String lanAddress) {
        this.host = host;
        this.nat = nat;
        this.wanDev = wanDev;
        this.wanAddress = wanAddress;
        this.lanDev = lanDev;
        this.lanAddress = lanAddress;
        host.nft("""
                table ip lt_nat {
                  chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "%1$s" %2$s; }
                }
                table inet lt_fw {
                  chain forward {
                    type filter hook forward priority filter; policy accept;
                    iifname "%1$s" ct state established,related accept
                    iifname "%1$s" drop
                  }
                  chain input {
                    type filter hook input priority filter; policy accept;
                    iifname "%1$s" ct state established,related accept
                    iifname "%1$s" drop
                  }
                }
                """.formatted(wanDev, nat.statement()));
    }

    /** The router's namespace. */
    public Host host() {
        return host;
    }

    public Nat nat() {
        return nat;
    }

    /** The device on the internet switch. */
    public String wanDev() {
        return wanDev;
    }

    /** The router's (and so every LAN host's) address as the internet sees it, e.g. {@code 10.200.0.11}. */
    public String wanAddress() {
        return wanAddress;
    }

    /** The device towards the site's LAN. */
    public String lanDev() {
        return lanDev;
    }

    /** The router's LAN address, the default gateway of the site's host, e.g. {@code 192.168.11.1}. */
    public String lanAddress() {
        return lanAddress;
    }

    /**
     * Starts or stops dropping all UDP through the router, both directions ({@link Firewall#DROP_UDP}); TCP and
     * ICMP keep working. Established UDP flows are cut at once, and come back when unblocked.
     */
    public synchronized Router blockUdp(boolean block) {
        Firewall.setUdpBlocked(host, wanDev, block);
        udpBlocked = block;
        return this;
    }

    /** Whether UDP is blocked now. */
    public synchronized boolean udpBlocked() {
        return udpBlocked;
    }

    @Override
    public String toString() {
        return "router " + host.name() + " (" + nat + ", wan " + wanAddress + ")";
    }
}
