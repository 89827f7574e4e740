package dev.lattice.control.netmap;

import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.tailcfg.UserProfile;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Stored node → tailcfg.Node, following headscale's {@code types/node.go TailNode}: FQDN name with trailing dot,
 * addresses as /32 and /128, AllowedIPs = addresses + approved advertised routes, HomeDERP from the node's
 * NetInfo, Online from live streams (LastSeen only when offline), MachineAuthorized unless the key expired.
 */
public final class TailcfgNodes {
    /** Tailscale's and headscale's fixed user for nodes owned by tags. */
    public static final long TAGGED_DEVICES_USER_ID = 2147455555L;
    public static final UserProfile TAGGED_DEVICES =
            new UserProfile(TAGGED_DEVICES_USER_ID, "tagged-devices", "Tagged Devices", null, null);

    static final String CAP_ADMIN = "https://tailscale.com/cap/is-admin";
    static final String CAP_SSH = "https://tailscale.com/cap/ssh";
    static final String ATTR_DEFAULT_AUTO_UPDATE = "default-auto-update";
    static final String CAP_FILE_SHARING = "https://tailscale.com/cap/file-sharing";
    /** tailcfg.CapabilityHTTPS: the node may get certificates for its names (and serve HTTPS with them). */
    static final String CAP_HTTPS = "https";

    private final Tailnet tailnet;
    private final String baseDomain;
    private final boolean fileSharing;
    private final boolean defaultAutoUpdate;
    private final boolean https;
    private volatile PrimaryRoutes primaries;

    public TailcfgNodes(Tailnet tailnet, String baseDomain) {
        this(tailnet, baseDomain, true, false);
    }

    /**
     * @param fileSharing {@code taildrop.enabled}: every node gets Tailscale's file-sharing capability (Taildrop
     *     itself runs between the clients)
     * @param defaultAutoUpdate {@code auto_update.enabled}: the value of every node's default-auto-update attribute
     */
    public TailcfgNodes(Tailnet tailnet, String baseDomain, boolean fileSharing, boolean defaultAutoUpdate) {
        this(tailnet, baseDomain, fileSharing, defaultAutoUpdate, false);
    }

    /** @param https {@code dns.certificates}: every node gets the {@code https} capability and its name as CertDomain */
    public TailcfgNodes(Tailnet tailnet, String baseDomain, boolean fileSharing, boolean defaultAutoUpdate, boolean https) {
        this.https = https;
        this.tailnet = tailnet;
        this.baseDomain = baseDomain == null ? "" : baseDomain;
        this.fileSharing = fileSharing;
        this.defaultAutoUpdate = defaultAutoUpdate;
    }

    /** {@code givenname.base.domain.}, the node's MagicDNS name. */
    public String fqdn(TailnetNode n) {
        return baseDomain.isEmpty() ? n.givenName() + "." : n.givenName() + "." + baseDomain + ".";
    }

    /** Whether nodes get certificates for their names ({@code dns.certificates}). */
    public boolean https() {
        return https;
    }

    /** The name a node may get a certificate for (DNSConfig.CertDomains): its MagicDNS name without the root dot. */
    public String certDomain(TailnetNode n) {
        String f = fqdn(n);
        return f.substring(0, f.length() - 1);
    }

    /** The home DERP region from the node's NetInfo; 0 = none. */
    public static int homeDerp(TailnetNode n) {
        Hostinfo h = n.hostinfo();
        return h == null || h.netInfo() == null ? 0 : h.netInfo().preferredDerp();
    }

    public List<IpPrefix> addresses(TailnetNode n) {
        List<IpPrefix> a = new ArrayList<>(2);
        if (n.ipv4() != null) a.add(new IpPrefix(n.ipv4(), 32));
        if (n.ipv6() != null) a.add(new IpPrefix(n.ipv6(), 128));
        return a;
    }

    /** Approved routes the node also advertises: only those are routed to it. */
    public List<IpPrefix> activeRoutes(TailnetNode n) {
        if (n.approvedRoutes().isEmpty()) return List.of();
        List<IpPrefix> announced = n.announcedRoutes();
        return n.approvedRoutes().stream().filter(announced::contains).toList();
    }

    /** Set once at startup: with it, a subnet route is served only by its elected primary. */
    public void usePrimaryRoutes(PrimaryRoutes p) {
        this.primaries = p;
    }

    /**
     * The routes the node serves to its peers: its active subnet routes where it is the primary (when several nodes
     * serve one), and its active exit routes.
     */
    public List<IpPrefix> servedRoutes(TailnetNode n) {
        List<IpPrefix> active = activeRoutes(n);
        PrimaryRoutes p = primaries;
        if (active.isEmpty() || p == null) return active;
        List<IpPrefix> out = active.stream().filter(r -> r.bits() == 0 || p.isPrimary(n.id(), r)).toList();
        return out.size() == active.size() ? active : out;
    }

    public long userId(TailnetNode n) {
        return n.isTagged() || n.userId() == null ? TAGGED_DEVICES_USER_ID : n.userId();
    }

    /** As {@link #toTailcfg(TailnetNode, boolean, int, List)} with all the routes the node serves. */
    public dev.lattice.wire.tailcfg.Node toTailcfg(TailnetNode n, boolean self, int capVer) {
        return toTailcfg(n, self, capVer, servedRoutes(n));
    }

    /**
     * @param self true for the node's own view (MapResponse.Node)
     * @param capVer the receiving client's capability version
     * @param routes the node's routes this viewer may use (AllowedIPs beyond its addresses; PrimaryRoutes without exit
     *     routes)
     */
    public dev.lattice.wire.tailcfg.Node toTailcfg(TailnetNode n, boolean self, int capVer, List<IpPrefix> routes) {
        return toTailcfg(n, self, capVer, routes, List.of());
    }

    /** @param attrs node attributes from the policy's nodeAttrs, added to the self view's CapMap */
    public dev.lattice.wire.tailcfg.Node toTailcfg(TailnetNode n, boolean self, int capVer, List<IpPrefix> routes,
            List<String> attrs) {
        Instant now = tailnet.now();
        boolean expired = n.isExpired(now);
        boolean online = tailnet.isOnline(n.id());
        List<IpPrefix> addrs = addresses(n);
        List<IpPrefix> allowed = new ArrayList<>(addrs);
        allowed.addAll(routes);
        List<IpPrefix> primary = routes.stream().filter(r -> r.bits() != 0).toList();
        int derp = homeDerp(n);
        var b = dev.lattice.wire.tailcfg.Node.builder()
                .id(n.id())
                .stableId(Long.toString(n.id()))
                .name(fqdn(n))
                .user(userId(n))
                .key(n.nodeKey())
                .keyExpiry(n.expiry() == null ? Tailcfg.ZERO_TIME : n.expiry())
                .machine(n.machineKey())
                .discoKey(n.discoKey())
                .addresses(addrs)
                .allowedIps(allowed)
                .endpoints(n.endpoints())
                .homeDerp(derp)
                .hostinfo(n.hostinfo())
                .created(n.created())
                .tags(n.tags().isEmpty() ? null : n.tags().names())
                .primaryRoutes(primary.isEmpty() ? null : primary)
                .online(online)
                .machineAuthorized(!expired)
                .expired(expired ? Boolean.TRUE : null);
        if (derp > 0 && capVer < dev.lattice.wire.tailcfg.CapabilityVersion.HOME_DERP) b.legacyDerp(Tailcfg.legacyDerp(derp));
        if (!online && n.lastSeen() != null) b.lastSeen(n.lastSeen());
        if (self) {
            b.cap(capVer);
            Map<String, List<JsonNode>> caps = new LinkedHashMap<>();
            caps.put(CAP_ADMIN, List.of());
            caps.put(CAP_SSH, List.of());
            if (fileSharing) caps.put(CAP_FILE_SHARING, List.of());
            if (https) caps.put(CAP_HTTPS, List.of());
            caps.put(ATTR_DEFAULT_AUTO_UPDATE, List.of(Tailcfg.json().getNodeFactory().booleanNode(defaultAutoUpdate)));
            for (String a : attrs) caps.putIfAbsent(a, List.of());
            b.capMap(caps);
        }
        return b.build();
    }

    public UserProfile profile(User u) {
        String display = u.displayName() == null || u.displayName().isEmpty() ? u.name() : u.displayName();
        String login = u.email() == null || u.email().isEmpty() ? u.name() : u.email();
        return new UserProfile(u.id(), login, display, u.profilePicUrl().isEmpty() ? null : u.profilePicUrl(), null);
    }
}
