package dev.lattice.testlab;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small internet in a {@link Lab}: an "internet" switch with a server host, sites behind NAT routers, and
 * hosts directly on the internet. Built with {@link #builder()}:
 *
 * <pre>{@code
 * try (NatLab net = NatLab.builder()
 *         .site("a", Nat.ENDPOINT_INDEPENDENT)
 *         .site("b", Nat.SYMMETRIC, Firewall.DROP_UDP)
 *         .publicHost("c")
 *         .build()) {
 *     net.server().spawn("control", ...);          // control + DERP + STUN listen on net.serverAddress()
 *     net.site("a").host().spawn("agent", ...);    // behind a's router
 *     net.site("b").router().blockUdp(false);
 * }
 * }</pre>
 *
 * <p>Addresses (IPv4 only):
 * <pre>
 *  internet switch "inet"  10.200.0.0/24   gateway 10.200.0.1 (the switch itself; forwards nothing)
 *    server "server"       10.200.0.2
 *    router of site k      10.200.0.(10+k)        k = 1, 2, ... in the order sites were added
 *    public host j         10.200.0.(100+j)       j = 1, 2, ...
 *  LAN of site k           192.168.(10+k).0/24    router .1, host .2
 * </pre>
 * Every host has a default route (to the router, or to 10.200.0.1), so agents find a default interface, but
 * nothing routes out of the lab. Lab host names: {@code inet}, {@code server}, {@code <site>-gw} and
 * {@code <site>} for each site, and each public host's name.
 */
public final class NatLab implements AutoCloseable {
    /** The internet switch's subnet. */
    public static final String INTERNET = "10.200.0.0/24";
    /** The internet's default gateway: the switch namespace, which forwards nothing. */
    public static final String GATEWAY = "10.200.0.1";
    /** The server host's address. */
    public static final String SERVER = "10.200.0.2";

    private static final int MAX_SITES = 89;
    private static final int MAX_PUBLIC = 150;

    private final Lab lab;
    private final boolean ownsLab;
    private final Switch internet;
    private final Host server;
    private final Map<String, Site> sites = new LinkedHashMap<>();
    private final Map<String, Host> publicHosts = new LinkedHashMap<>();
    private final Map<Host, String> addresses = new HashMap<>();
    private final Map<Host, String> outsideDevs = new HashMap<>();

    private NatLab(Lab lab, boolean ownsLab, Builder b) {
        this.lab = lab;
        this.ownsLab = ownsLab;
        this.internet = lab.newSwitch("inet");
        internet.host().addAddress(Switch.BRIDGE, GATEWAY + "/24");
        this.server = lab.host("server");
        attach(server, SERVER);

        int k = 0;
        for (SiteSpec s : b.sites) {
            k++;
            Host gw = lab.router(s.name + "-gw");
            String wan = "10.200.0." + (10 + k);
            String wanDev = attach(gw, wan);
            Host h = lab.host(s.name);
            Link lan = lab.link(gw, h);
            String net = "192.168." + (10 + k) + ".";
            gw.addAddress(lan.aDev(), net + "1/24");
            h.addAddress(lan.bDev(), net + "2/24").defaultRoute(net + "1");
            Router r = new Router(gw, s.nat, wanDev, wan, lan.aDev(), net + "1");
            if (s.firewall == Firewall.DROP_UDP) {
                r.blockUdp(true);
            }
            addresses.put(gw, wan);
            addresses.put(h, net + "2");
            outsideDevs.put(h, lan.bDev());
            sites.put(s.name, new Site(s.name, r, h, net + "2"));
        }
        int j = 0;
        for (PublicSpec p : b.publicHosts) {
            j++;
            Host h = lab.host(p.name);
            String dev = attach(h, "10.200.0." + (100 + j));
            if (p.firewall == Firewall.DROP_UDP) {
                Firewall.setUdpBlocked(h, dev, true);
            }
            publicHosts.put(p.name, h);
        }
    }

    /** Plugs {@code h} into the internet switch with {@code address}/24 and a default route; returns its device. */
    private String attach(Host h, String address) {
        Link l = internet.connect(h);
        h.addAddress(l.aDev(), address + "/24").defaultRoute(GATEWAY);
        addresses.put(h, address);
        outsideDevs.put(h, l.aDev());
        return l.aDev();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The underlying lab (to add hosts, read {@link Lab#workDir()}, ...). */
    public Lab lab() {
        return lab;
    }

    /** The internet switch. */
    public Switch internet() {
        return internet;
    }

    /** The server host on the internet ({@link #SERVER}), where control, DERP and STUN run. */
    public Host server() {
        return server;
    }

    /** {@link #SERVER}. */
    public String serverAddress() {
        return SERVER;
    }

    /** The site with this name. */
    public Site site(String name) {
        Site s = sites.get(name);
        if (s == null) {
            throw new IllegalArgumentException("no site " + name + " (have " + sites.keySet() + ")");
        }
        return s;
    }

    /** All sites, in the order they were added. */
    public List<Site> sites() {
        return List.copyOf(sites.values());
    }

    /** The host with this name directly on the internet (no NAT). */
    public Host publicHost(String name) {
        Host h = publicHosts.get(name);
        if (h == null) {
            throw new IllegalArgumentException("no public host " + name + " (have " + publicHosts.keySet() + ")");
        }
        return h;
    }

    /** All public hosts, in the order they were added. */
    public List<Host> publicHosts() {
        return List.copyOf(publicHosts.values());
    }

    /**
     * The IPv4 address of a host of this topology: the internet address of the server, a public host or a
     * router (its WAN), the LAN address of a site's host.
     */
    public String address(Host h) {
        String a = addresses.get(h);
        if (a == null) {
            throw new IllegalArgumentException(h + " is not part of this topology");
        }
        return a;
    }

    /**
     * Blocks or unblocks all UDP in and out of a public host's internet device ({@link Firewall#DROP_UDP}), e.g.
     * to make a host reachable only over TCP. For a site, use {@code site(name).router().blockUdp(...)}.
     */
    public NatLab blockUdp(String publicHost, boolean block) {
        Host h = publicHost(publicHost);
        Firewall.setUdpBlocked(h, outsideDevs.get(h), block);
        return this;
    }

    /** Closes the lab if {@link Builder#build()} created it; a lab given to {@link Builder#buildIn} stays open. */
    @Override
    public void close() {
        if (ownsLab) {
            lab.close();
        }
    }

    @Override
    public String toString() {
        return "NatLab " + lab.id() + " sites=" + sites.keySet() + " public=" + publicHosts.keySet();
    }

    private record SiteSpec(String name, Nat nat, Firewall firewall) {
    }

    private record PublicSpec(String name, Firewall firewall) {
    }

    /** Collects sites and public hosts; {@link #build()} creates them. */
    public static final class Builder {
        private final List<SiteSpec> sites = new ArrayList<>();
        private final List<PublicSpec> publicHosts = new ArrayList<>();

        private Builder() {
        }

        /** Adds a site: a router doing {@code nat} and one host behind it. */
        public Builder site(String name, Nat nat) {
            return site(name, nat, Firewall.NONE);
        }

        /** Adds a site whose router starts with {@code firewall} (UDP blocking can be switched later). */
        public Builder site(String name, Nat nat, Firewall firewall) {
            if (sites.size() >= MAX_SITES) {
                throw new IllegalArgumentException("at most " + MAX_SITES + " sites");
            }
            if (name.length() > 17) {
                throw new IllegalArgumentException("site name too long (17 characters at most): " + name);
            }
            sites.add(new SiteSpec(name, java.util.Objects.requireNonNull(nat),
                    java.util.Objects.requireNonNull(firewall)));
            return this;
        }

        /** Adds a host directly on the internet, without NAT. */
        public Builder publicHost(String name) {
            return publicHost(name, Firewall.NONE);
        }

        /** Adds a host directly on the internet that starts with {@code firewall} on its internet device. */
        public Builder publicHost(String name, Firewall firewall) {
            if (publicHosts.size() >= MAX_PUBLIC) {
                throw new IllegalArgumentException("at most " + MAX_PUBLIC + " public hosts");
            }
            publicHosts.add(new PublicSpec(name, java.util.Objects.requireNonNull(firewall)));
            return this;
        }

        /** Creates a new {@link Lab} with the topology; closing the NatLab closes it. */
        public NatLab build() {
            Lab lab = new Lab();
            try {
                return new NatLab(lab, true, this);
            } catch (RuntimeException e) {
                try {
                    lab.close();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        }

        /** Creates the topology in an existing lab, which the caller keeps and closes. */
        public NatLab buildIn(Lab lab) {
            return new NatLab(lab, false, this);
        }
    }
}
