package dev.lattice.control.policy;

import dev.lattice.control.policy.Policy.Dest;
import dev.lattice.control.policy.Policy.Pos;
import dev.lattice.control.policy.PolicyCompiler.Compilation;
import dev.lattice.control.policy.PolicyCompiler.DstEntry;
import dev.lattice.control.policy.PolicyCompiler.NodeInfo;
import dev.lattice.control.policy.PolicyCompiler.Piece;
import dev.lattice.control.policy.PolicyCompiler.SelfPiece;
import dev.lattice.control.netmap.ViaRoutes;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.CapGrant;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.NetPortRange;
import dev.lattice.wire.tailcfg.PortRange;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import tools.jackson.databind.JsonNode;

/** The compiled form: per-node filters assembled on first use and cached; visibility from per-node BitSets. */
final class CompiledPolicyImpl implements CompiledPolicy {
    private static final List<Integer> DEFAULT_PROTOS = List.of(6, 17, 1, 58);

    private final Compilation c;
    private final AtomicReferenceArray<List<FilterRule>> filters;
    private final AtomicReferenceArray<Object> ssh;
    private final SshCompiler sshCompiler;
    /** Per route: the nodes that may use it (global rules); computed on first use, routes are few. */
    private final ConcurrentHashMap<IpPrefix, BitSet> routeUsers = new ConcurrentHashMap<>();
    /**
     * Per user: for each autogroup:self piece, the SrcIPs its devices get (null where none of them is a source). The same
     * for all of a user's devices, so built once, not once per device and session.
     */
    private final ConcurrentHashMap<Long, List<List<String>>> selfSources = new ConcurrentHashMap<>();
    /** Node ids by compiled index, to answer in ids without touching each node. */
    private final int[] ids;
    /** Per compiled index: the attributes nodeAttrs give the node (null = none). */
    private final List<List<String>> attrs;

    CompiledPolicyImpl(Compilation c) {
        this.c = c;
        this.filters = new AtomicReferenceArray<>(c.nodes.length);
        this.ssh = new AtomicReferenceArray<>(c.nodes.length);
        this.sshCompiler = new SshCompiler(c);
        this.ids = new int[c.nodes.length];
        for (int i = 0; i < ids.length; i++) ids[i] = Math.toIntExact(c.nodes[i].node.id());
        this.attrs = compileNodeAttrs(c);
    }

    /** headscale's compileNodeAttrs: each entry's attrs go to every node in its targets, each attr once. */
    private static List<List<String>> compileNodeAttrs(Compilation c) {
        List<List<String>> out = new ArrayList<>(Collections.nCopies(c.nodes.length, (List<String>) null));
        for (Policy.NodeAttr na : c.policy.nodeAttrs()) {
            if (na.attrs().isEmpty()) continue;
            IpSet.Builder b = new IpSet.Builder();
            for (Alias a : na.target()) b.addAll(c.resolve(a));
            IpSet targets = b.build();
            for (NodeInfo n : c.nodes) {
                if (!n.in(targets)) continue;
                List<String> l = out.get(n.index);
                if (l == null) out.set(n.index, l = new ArrayList<>());
                for (String attr : na.attrs()) if (!l.contains(attr)) l.add(attr);
            }
        }
        for (int i = 0; i < out.size(); i++) if (out.get(i) != null) out.set(i, List.copyOf(out.get(i)));
        return out;
    }

    @Override
    public List<String> nodeAttrs(TailnetNode node) {
        int i = indexOf(node);
        List<String> a = i < 0 ? null : attrs.get(i);
        return a == null ? List.of() : a;
    }

    private int indexOf(TailnetNode node) {
        Integer i = c.byId.get(node.id());
        return i == null ? -1 : i;
    }

    @Override
    public java.util.Optional<java.time.Duration> sshCheckPeriod(TailnetNode src, TailnetNode dst) {
        int s = indexOf(src), d = indexOf(dst);
        if (s < 0 || d < 0) return java.util.Optional.empty();
        return sshCompiler.checkPeriod(c.nodes[s], c.nodes[d]);
    }

    @Override
    public List<FilterRule> filterFor(TailnetNode node) {
        int i = indexOf(node);
        if (i < 0) return List.of(); // not compiled in: deny until the next compile
        List<FilterRule> f = filters.get(i);
        if (f == null) {
            f = build(c.nodes[i]);
            filters.compareAndSet(i, null, f);
        }
        return f;
    }

    /** A merged rule under construction. */
    private static final class Merged {
        final long rank;
        final List<String> src;
        final List<Integer> proto;
        final List<NetPortRange> dsts = new ArrayList<>();
        final List<CapGrant> caps; // a CapGrant rule (never merged), else null

        Merged(long rank, List<String> src, List<Integer> proto, List<CapGrant> caps) {
            this.rank = rank;
            this.src = src;
            this.proto = proto;
            this.caps = caps;
        }
    }

    /**
     * One emitted piece for this node: global (with its matching entries) or autogroup:self. A CapGrant piece has
     * {@code caps} (and no dsts) and a key of its own.
     */
    private record Item(long seq, String key, List<String> src, List<Integer> proto, List<NetPortRange> dsts, List<CapGrant> caps) {}

    private List<FilterRule> build(NodeInfo node) {
        List<Item> items = new ArrayList<>();
        int[] m = c.nodeMatches[node.index];
        for (int k = 0; k < m.length; ) {
            Piece p = c.pieces.get(m[k]);
            if (p.isCap()) {
                int from = k;
                while (k < m.length && c.pieces.get(m[k]) == p) k += 2;
                List<CapGrant> caps = capGrants(p, m, from, k, node);
                if (!caps.isEmpty()) items.add(new Item(p.seq(), p.key(), p.srcIps(), null, List.of(), caps));
                continue;
            }
            List<NetPortRange> dsts = new ArrayList<>();
            while (k < m.length && c.pieces.get(m[k]) == p) {
                DstEntry d = p.dsts().get(m[k + 1]);
                dsts.add(new NetPortRange(d.ip(), null, d.ports()));
                k += 2;
            }
            items.add(new Item(p.seq(), p.key(), p.srcIps(), p.proto(), dsts, null));
        }
        items.addAll(selfItems(node));
        if (items.isEmpty()) return List.of();
        items.sort(Comparator.comparingLong(Item::seq));
        Map<String, Merged> merged = new LinkedHashMap<>();
        for (Item it : items) {
            // A key's place is its first occurrence among all pieces, matching this node or not (merge, then reduce).
            long rank = Math.min(c.keyFirstSeq.getOrDefault(it.key(), Long.MAX_VALUE), it.seq());
            Merged mr = merged.computeIfAbsent(it.key(), k -> new Merged(rank, it.src(), it.proto(), it.caps()));
            mr.dsts.addAll(it.dsts());
        }
        List<Merged> ordered = new ArrayList<>(merged.values());
        ordered.sort(Comparator.comparingLong(x -> x.rank));
        List<FilterRule> out = new ArrayList<>(ordered.size());
        for (Merged mr : ordered) {
            out.add(mr.caps != null ? new FilterRule(mr.src, null, null, null, mr.caps)
                    : new FilterRule(mr.src, null, List.copyOf(mr.dsts), mr.proto, null));
        }
        return List.copyOf(out);
    }

    /**
     * The CapGrants of a CapGrant piece this node receives (headscale's reduceCapGrantRule), from its matching entries
     * {@code m[from..to)}: per destination alias, each prefix holding one of the node's addresses narrowed to that
     * address, and each prefix overlapping one of its approved subnet routes as it is; sorted as Go sorts prefixes,
     * without repeats. Entries are in CapGrant order, so each CapGrant's are adjacent.
     */
    private static List<CapGrant> capGrants(Piece p, int[] m, int from, int to, NodeInfo node) {
        List<CapGrant> out = new ArrayList<>(1);
        for (int k = from; k < to; ) {
            int cap = p.dsts().get(m[k + 1]).cap();
            List<IpPrefix> dsts = new ArrayList<>(2);
            for (; k < to && p.dsts().get(m[k + 1]).cap() == cap; k += 2) narrow(p.dsts().get(m[k + 1]).prefix(), node, dsts);
            if (dsts.isEmpty()) continue;
            dsts.sort(CompiledPolicyImpl::comparePrefixes);
            List<IpPrefix> unique = new ArrayList<>(dsts.size());
            for (IpPrefix d : dsts) if (unique.isEmpty() || !unique.getLast().equals(d)) unique.add(d);
            out.add(new CapGrant(List.copyOf(unique), null, p.capMap()));
        }
        return out;
    }

    /** Adds what of {@code dst} concerns {@code node}: its own addresses inside, or all of it if it overlaps a subnet route. */
    private static void narrow(IpPrefix dst, NodeInfo node, List<IpPrefix> out) {
        TailnetNode n = node.node;
        if (n.ipv4() != null && dst.contains(n.ipv4())) out.add(new IpPrefix(n.ipv4(), 32));
        if (n.ipv6() != null && dst.contains(n.ipv6())) out.add(new IpPrefix(n.ipv6(), 128));
        for (IpPrefix route : node.subnetRoutes) {
            if (route.isIPv4() == dst.isIPv4() && (route.contains(dst.address()) || dst.contains(route.address()))) out.add(dst);
        }
    }

    /** Go's netip.Prefix.Compare: IPv4 first, then by address, then by length. */
    static int comparePrefixes(IpPrefix a, IpPrefix b) {
        byte[] x = a.bytes(), y = b.bytes();
        if (x.length != y.length) return Integer.compare(x.length, y.length);
        int c = java.util.Arrays.compareUnsigned(x, y);
        return c != 0 ? c : Integer.compare(a.bits(), b.bits());
    }

    /** autogroup:self for this node: from its user's devices in the sources, to this node's own addresses. */
    private List<Item> selfItems(NodeInfo node) {
        if (c.selfPieces.isEmpty() || node.tagged() || node.node.userId() == null) return List.of();
        List<List<String>> sources = selfSources.computeIfAbsent(node.node.userId(), this::selfSources);
        List<Item> out = new ArrayList<>();
        for (int i = 0; i < c.selfPieces.size(); i++) {
            List<String> src = sources.get(i);
            if (src == null) continue;
            SelfPiece sp = c.selfPieces.get(i);
            if (sp.isCap()) {
                selfCapItems(node, sp, src, out);
                continue;
            }
            List<NetPortRange> dsts = new ArrayList<>();
            for (PortRange port : sp.ports()) for (String ip : node.ipStrings()) dsts.add(new NetPortRange(ip, null, port));
            String key = String.join(",", src) + "|" + (sp.proto() == null ? "" : sp.proto().toString());
            out.add(new Item(sp.seq(), key, src, sp.proto(), dsts, null));
        }
        return out;
    }

    /**
     * autogroup:self with {@code app} (headscale's compileAutogroupSelf, then reduced to this node): the capabilities
     * on this node's addresses from its user's devices among the sources; the companions, from all of the user's
     * devices, when this node is itself among the sources.
     */
    private void selfCapItems(NodeInfo node, SelfPiece sp, List<String> src, List<Item> out) {
        List<IpPrefix> own = new ArrayList<>(2);
        if (node.node.ipv4() != null) own.add(new IpPrefix(node.node.ipv4(), 32));
        if (node.node.ipv6() != null) own.add(new IpPrefix(node.node.ipv6(), 128));
        if (own.isEmpty()) return;
        own = List.copyOf(own);
        out.add(new Item(sp.seq(), "cap#self#" + sp.seq(), src, null, List.of(), List.of(new CapGrant(own, null, sp.capMap()))));
        if (sp.companions().isEmpty() || sp.sources().stream().noneMatch(node::in)) return;
        List<String> devices = new ArrayList<>();
        for (NodeInfo o : c.untaggedByUser.getOrDefault(node.node.userId(), List.of())) devices.addAll(o.ipStrings());
        for (int j = 0; j < sp.companions().size(); j++) {
            long seq = sp.seq() + 1 + j;
            out.add(new Item(seq, "cap#self#" + seq, List.copyOf(devices), null, List.of(), List.of(new CapGrant(own, null, sp.companions().get(j)))));
        }
    }

    /** For each self piece, the addresses of the user's untagged devices among its sources; null if there are none. */
    private List<List<String>> selfSources(long userId) {
        List<NodeInfo> own = c.untaggedByUser.getOrDefault(userId, List.of());
        List<List<String>> out = new ArrayList<>(c.selfPieces.size());
        for (SelfPiece sp : c.selfPieces) {
            IpSet.Builder b = new IpSet.Builder();
            boolean any = false;
            for (NodeInfo o : own) {
                if (sp.sources().stream().anyMatch(o::in)) {
                    o.addTo(b);
                    any = true;
                }
            }
            out.add(any ? b.build().strings() : null);
        }
        return Collections.unmodifiableList(out);
    }

    @Override
    public boolean canSee(TailnetNode viewer, TailnetNode peer) {
        int v = indexOf(viewer), p = indexOf(peer);
        if (v < 0 || p < 0) return false;
        return c.reach[v].get(p) || c.reach[p].get(v);
    }

    @Override
    public List<IpPrefix> reduceRoutes(TailnetNode viewer, List<IpPrefix> routes) {
        if (routes.isEmpty()) return routes;
        int v = indexOf(viewer);
        if (v < 0) return List.of();
        List<IpPrefix> out = new ArrayList<>(routes.size());
        for (IpPrefix r : routes) {
            if (routeUsers.computeIfAbsent(r, c::routeUsers).get(v) || selfUsesRoute(c.nodes[v], r)) out.add(r);
        }
        return out.size() == routes.size() ? routes : List.copyOf(out);
    }

    /**
     * autogroup:self rules, which exist per viewer: its own devices in the sources reach it, so the viewer may use a
     * route those sources overlap (replies), or one holding its own address if it is among them or its subnets are.
     */
    private boolean selfUsesRoute(NodeInfo viewer, IpPrefix route) {
        if (c.selfPieces.isEmpty() || viewer.tagged() || viewer.node.userId() == null) return false;
        List<NodeInfo> own = c.untaggedByUser.getOrDefault(viewer.node.userId(), List.of());
        IpSet.Builder mine = new IpSet.Builder();
        viewer.addTo(mine);
        boolean routeHoldsViewer = mine.build().overlaps(route);
        for (SelfPiece sp : c.selfPieces) {
            IpSet.Builder b = new IpSet.Builder();
            for (NodeInfo o : own) if (sp.sources().stream().anyMatch(o::in)) o.addTo(b);
            IpSet srcs = b.build();
            if (srcs.isEmpty()) continue;
            if (srcs.overlaps(route)) return true;
            if (routeHoldsViewer && (viewer.in(srcs) || viewer.subnetRoutes.stream().anyMatch(srcs::overlaps))) return true;
        }
        return false;
    }

    @Override
    public boolean hasVia() {
        return c.hasVia;
    }

    /**
     * headscale's {@code ViaRoutesForPeer}, in its three passes. (1) For every via grant whose sources hold the viewer,
     * the peer's approved subnet routes that overlap the grant's destinations (and its exit routes when they name
     * autogroup:internet) are included if the peer carries a via tag, else excluded. (2) Among several routers with a
     * grant's via tags serving one route, only the lowest id keeps it; the others' move to excluded. (3) A regular
     * grant of the viewer's covering an included route defers it to HA primary election; covering an excluded one
     * lifts the exclusion.
     */
    @Override
    public ViaRoutes viaRoutes(TailnetNode viewer, TailnetNode peer) {
        if (!c.hasVia || viewer.id() == peer.id()) return ViaRoutes.NONE;
        int v = indexOf(viewer), p = indexOf(peer);
        if (v < 0 || p < 0) return ViaRoutes.NONE;
        NodeInfo vi = c.nodes[v], pi = c.nodes[p];
        // Only a router can be steered to or from: most peers of a full map are answered here.
        if (pi.subnetRoutes.isEmpty() && !pi.exitNode) return ViaRoutes.NONE;
        List<PolicyCompiler.GrantRoutes> grants = c.grantRoutes;
        boolean[] matches = viewerGrants.computeIfAbsent(v, k -> {
            boolean[] m = new boolean[grants.size()];
            for (int i = 0; i < m.length; i++) m[i] = vi.in(grants.get(i).src());
            return m;
        });
        List<IpPrefix> include = new ArrayList<>(), exclude = new ArrayList<>(), usePrimary = new ArrayList<>();
        List<IpPrefix> exitRoutes = pi.exitNode ? pi.node.approvedRoutes().stream()
                .filter(r -> r.bits() == 0 && pi.node.announcedRoutes().contains(r)).toList() : List.of();
        for (int i = 0; i < grants.size(); i++) {
            PolicyCompiler.GrantRoutes g = grants.get(i);
            if (g.via().isEmpty() || !matches[i]) continue;
            List<IpPrefix> matched = new ArrayList<>();
            for (IpPrefix d : g.dst()) for (IpPrefix r : pi.subnetRoutes) if (overlap(d, r)) matched.add(r);
            if (g.internet() && pi.exitNode) matched.addAll(exitRoutes);
            if (matched.isEmpty()) continue;
            boolean peerHasVia = g.via().stream().anyMatch(t -> pi.node.tags().contains(t));
            (peerHasVia ? include : exclude).addAll(matched);
        }
        if (include.isEmpty() && exclude.isEmpty()) return ViaRoutes.NONE;
        for (int i = 0; i < grants.size(); i++) {
            PolicyCompiler.GrantRoutes g = grants.get(i);
            if (g.via().isEmpty() || !matches[i]) continue;
            for (IpPrefix d : g.dst()) {
                for (IpPrefix included : List.copyOf(include)) {
                    if (!overlap(d, included)) continue;
                    long primary = viaPrimary.computeIfAbsent(new GrantRoute(i, included), k -> viaPrimary(g, k.route()));
                    if (primary != 0 && pi.node.id() != primary) {
                        include.removeIf(included::equals);
                        if (!exclude.contains(included)) exclude.add(included);
                    }
                }
            }
        }
        for (int i = 0; i < grants.size(); i++) {
            PolicyCompiler.GrantRoutes g = grants.get(i);
            if (!g.via().isEmpty() || !matches[i]) continue;
            for (IpPrefix d : g.dst()) {
                for (IpPrefix r : include) if (overlap(d, r) && !usePrimary.contains(r)) usePrimary.add(r);
                exclude.removeIf(r -> overlap(d, r));
            }
        }
        return new ViaRoutes(include, exclude, usePrimary);
    }

    /** The via group's primary for {@code route}: the lowest id among the nodes with one of the grant's tags serving it. */
    private long viaPrimary(PolicyCompiler.GrantRoutes g, IpPrefix route) {
        long primary = 0;
        for (NodeInfo n : c.nodes) {
            if (n.subnetRoutes.contains(route) && g.via().stream().anyMatch(t -> n.node.tags().contains(t))
                    && (primary == 0 || n.node.id() < primary)) primary = n.node.id();
        }
        return primary;
    }

    private record GrantRoute(int grant, IpPrefix route) {}

    /** Per (grant, route): {@link #viaPrimary}, the same for every viewer, so computed once, not once per pair. */
    private final ConcurrentHashMap<GrantRoute, Long> viaPrimary = new ConcurrentHashMap<>();

    /** netip.Prefix.Overlaps: same family and one contains the other's start. */
    static boolean overlap(IpPrefix a, IpPrefix b) {
        return a.isIPv4() == b.isIPv4() && (a.contains(b.address()) || b.contains(a.address()));
    }

    /** Per viewer (compiled index): which grants' sources hold it, for {@link #viaRoutes}. */
    private final ConcurrentHashMap<Integer, boolean[]> viewerGrants = new ConcurrentHashMap<>();

    /** From the reachability rows: no per-pair lookups. Nodes that joined after this compile are not visible. */
    @Override
    public BitSet visiblePeers(TailnetNode viewer, List<TailnetNode> all) {
        BitSet out = new BitSet();
        int v = indexOf(viewer);
        if (v < 0) return out;
        // Who the viewer reaches (its row), plus who reaches it (its column, read only where the row is clear:
        // a transpose would cost more than this for any policy where most nodes see each other).
        BitSet both = (BitSet) c.reach[v].clone();
        for (int p = both.nextClearBit(0); p < ids.length; p = both.nextClearBit(p + 1)) {
            if (c.reach[p].get(v)) both.set(p);
        }
        both.clear(v);
        for (int p = both.nextSetBit(0); p >= 0 && p < ids.length; p = both.nextSetBit(p + 1)) out.set(ids[p]);
        return out;
    }

    /** Whether every address of {@code src} may reach {@code dst}'s port over {@code proto} (policy tests). */
    boolean allows(IpSet src, Dest dst, List<Integer> proto, Pos pos, String where) throws PolicyException {
        IpSet dstSet = c.resolve(dst.alias());
        if (dstSet.isEmpty()) {
            throw new PolicyException(where + ": destination \"" + dst.alias() + "\" resolved to no IP addresses", pos.line(), pos.column());
        }
        int port = dst.ports().getFirst().first();
        List<Integer> requested = proto == null ? DEFAULT_PROTOS : proto;
        for (IpSet one : src.prefixSets()) {
            if (!allowsOne(one, dstSet, port, requested)) return false;
        }
        return true;
    }

    private boolean allowsOne(IpSet src, IpSet dstSet, int port, List<Integer> requested) {
        for (Piece p : c.pieces) {
            // Via rules do not count, as in headscale (its policy tests read the global filter, which has none).
            if (p.isCap() || p.isVia() || !overlaps(p.srcSet(), src) || !protoMatches(p.proto(), requested)) continue;
            for (DstEntry d : p.dsts()) {
                if (port < d.ports().first() || port > d.ports().last()) continue;
                if (d.wildcard() || overlaps(d.set(), dstSet)) return true;
            }
        }
        for (SelfPiece sp : c.selfPieces) {
            if (sp.isCap() || !protoMatches(sp.proto(), requested)) continue;
            if (sp.ports().stream().noneMatch(r -> port >= r.first() && port <= r.last())) continue;
            for (List<NodeInfo> own : c.untaggedByUser.values()) {
                boolean dstHit = own.stream().anyMatch(o -> o.in(dstSet));
                if (!dstHit) continue;
                IpSet.Builder b = new IpSet.Builder();
                for (NodeInfo o : own) if (sp.sources().stream().anyMatch(o::in)) o.addTo(b);
                if (overlaps(b.build(), src)) return true;
            }
        }
        return false;
    }

    private static boolean overlaps(IpSet a, IpSet b) {
        return !a.isEmpty() && !b.isEmpty() && !a.minus(b).equals(a);
    }

    private static boolean protoMatches(List<Integer> rule, List<Integer> requested) {
        if (rule == null) return true;
        for (Integer r : rule) if (requested.contains(r)) return true;
        return false;
    }

    @Override
    public boolean userMayOwnTag(long userId, String tag) {
        List<Alias> owners = c.policy.tagOwners().get(tag);
        if (owners == null) return false;
        for (Alias o : owners) {
            switch (o) {
                case Alias.User u -> {
                    if (c.memberUsers(u).contains(userId)) return true;
                }
                case Alias.Group g -> {
                    for (Alias.User u : c.policy.groups().getOrDefault(g.name(), List.of())) {
                        if (c.memberUsers(u).contains(userId)) return true;
                    }
                }
                case Alias.AutoGroup ag when ag.is(Alias.MEMBER) -> {
                    return true;
                }
                default -> { }
            }
        }
        return false;
    }

    @Override
    public boolean tagMayOwnTag(String ownerTag, String tag) {
        List<Alias> owners = c.policy.tagOwners().get(tag);
        if (owners == null) return false;
        for (Alias o : owners) {
            if (o instanceof Alias.Tag t && t.name().equals(ownerTag)) return true;
            if (o instanceof Alias.AutoGroup ag && ag.is(Alias.TAGGED)) return true;
        }
        return false;
    }

    @Override
    public boolean autoApprovesRoute(TailnetNode node, IpPrefix route) {
        if (route.bits() == 0) return autoApprovesExitNode(node);
        for (var e : c.policy.autoApprovers().routes().entrySet()) {
            IpPrefix p = e.getKey();
            if (p.isIPv4() != route.isIPv4() || p.bits() > route.bits() || !p.contains(route.address())) continue;
            if (approves(e.getValue(), node)) return true;
        }
        return false;
    }

    @Override
    public boolean autoApprovesExitNode(TailnetNode node) {
        return approves(c.policy.autoApprovers().exitNode(), node);
    }

    /** Approvers name owners: a user approves for their untagged nodes, a tag for nodes carrying it. */
    private boolean approves(List<Alias> approvers, TailnetNode node) {
        for (Alias a : approvers) {
            boolean hit = switch (a) {
                case Alias.User u -> !node.isTagged() && node.userId() != null && c.memberUsers(u).contains(node.userId());
                case Alias.Group g -> !node.isTagged() && node.userId() != null && c.policy.groups().getOrDefault(g.name(), List.of())
                        .stream().anyMatch(u -> c.memberUsers(u).contains(node.userId()));
                case Alias.Tag t -> node.tags().contains(t.name());
                case Alias.AutoGroup ag -> ag.is(Alias.MEMBER) ? !node.isTagged() : ag.is(Alias.TAGGED) && node.isTagged();
                default -> false;
            };
            if (hit) return true;
        }
        return false;
    }

    @Override
    public JsonNode sshPolicyFor(TailnetNode node) {
        if (c.policy.ssh().isEmpty()) return null;
        int i = indexOf(node);
        if (i < 0) return null;
        Object v = ssh.get(i);
        if (v == null) {
            v = sshCompiler.forNode(c.nodes[i]);
            ssh.compareAndSet(i, null, v);
        }
        return (JsonNode) v;
    }

    @Override
    public List<String> definedTags() {
        return c.policy.tagOwners().keySet().stream().sorted().toList();
    }
}
