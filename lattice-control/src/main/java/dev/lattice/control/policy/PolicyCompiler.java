package dev.lattice.control.policy;

import dev.lattice.control.policy.Policy.Acl;
import dev.lattice.control.policy.Policy.Dest;
import dev.lattice.control.policy.Policy.Grant;
import dev.lattice.control.policy.Policy.ProtoPorts;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.PortRange;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * Compiles a {@link Policy} against the current nodes and users, the way headscale's policy v2 does (and so the way
 * Tailscale's control plane does): ACLs become one grant per destination; sources resolve to address sets whose
 * strings are the rules' SrcIPs; rules with equal SrcIPs and IPProto merge in first-seen order; each node's filter
 * keeps only the destinations that are its addresses, its approved subnet routes, or the internet when it is an
 * approved exit node. Resolution happens once here; per-node filters are assembled on demand from an index and
 * cached, and peer visibility is a BitSet per node.
 */
public final class PolicyCompiler {
    static final ObjectMapper JSON = JsonMapper.builder().build();

    /** Tailscale's address ranges for {@code *} sources: CGNAT and the ULA range, minus ChromeOS VMs. */
    static final IpSet TAILNET = IpSet.of(IpPrefix.parse("100.64.0.0/10"), IpPrefix.parse("fd7a:115c:a1e0::/48"))
            .minus(IpSet.of(IpPrefix.parse("100.115.92.0/23")));

    /** autogroup:internet: everything but private, tailnet and link-local space. */
    static final IpSet INTERNET = IpSet.of(IpPrefix.parse("0.0.0.0/0"), IpPrefix.parse("2000::/3"))
            .minus(IpSet.of(IpPrefix.parse("fc00::/7"), IpPrefix.parse("10.0.0.0/8"), IpPrefix.parse("172.16.0.0/12"),
                    IpPrefix.parse("192.168.0.0/16"), IpPrefix.parse("fd7a:115c:a1e0::/48"), IpPrefix.parse("100.64.0.0/10"),
                    IpPrefix.parse("fe80::/10"), IpPrefix.parse("169.254.0.0/16")));

    static final IpSet ALL = IpSet.of(IpPrefix.parse("0.0.0.0/0"), IpPrefix.parse("::/0"));

    private PolicyCompiler() {}

    /**
     * Compiles and runs the policy's {@code tests}; a failing test throws with the test's position, source,
     * destination and what was (not) allowed.
     */
    public static CompiledPolicy compile(Policy policy, List<TailnetNode> nodes, List<User> users)
            throws PolicyException {
        return compile(policy, nodes, users, "");
    }

    /** As {@link #compile(Policy, List, List)}; {@code serverUrl} prefixes SSH check-mode URLs. */
    public static CompiledPolicy compile(Policy policy, List<TailnetNode> nodes, List<User> users, String serverUrl)
            throws PolicyException {
        Compilation c = new Compilation(policy, nodes, users, serverUrl == null ? "" : serverUrl);
        c.run();
        c.runTests();
        SshTests.run(c);
        return c.result();
    }

    /** What the compiled form needs to know about one node. */
    static final class NodeInfo {
        final int index;
        final TailnetNode node;
        final long v4; // -1 when absent
        final long v6hi, v6lo;
        final boolean hasV6;
        final List<IpPrefix> subnetRoutes;
        final boolean exitNode;

        NodeInfo(int index, TailnetNode node) {
            this.index = index;
            this.node = node;
            this.v4 = node.ipv4() == null ? -1 : IpSet.key(node.ipv4())[1];
            this.hasV6 = node.ipv6() != null;
            long[] k6 = hasV6 ? IpSet.key(node.ipv6()) : new long[2];
            this.v6hi = k6[0];
            this.v6lo = k6[1];
            List<IpPrefix> announced = node.announcedRoutes();
            List<IpPrefix> subnets = new ArrayList<>();
            boolean exit = false;
            for (IpPrefix r : node.approvedRoutes()) {
                if (!announced.contains(r)) continue;
                if (r.bits() == 0) exit = true;
                else subnets.add(r);
            }
            this.subnetRoutes = List.copyOf(subnets);
            this.exitNode = exit;
        }

        boolean tagged() {
            return node.isTagged();
        }

        boolean in(IpSet s) {
            return (v4 >= 0 && s.containsV4(v4)) || (hasV6 && s.containsV6(v6hi, v6lo));
        }

        void addTo(IpSet.Builder b) {
            if (v4 >= 0) b.addV4(v4);
            if (hasV6) b.addV6(v6hi, v6lo);
        }

        List<String> ipStrings() {
            List<String> out = new ArrayList<>(2);
            if (v4 >= 0) out.add(IpSet.format(0, v4, 32));
            if (hasV6) out.add(IpSet.format(v6hi, v6lo, 128));
            return out;
        }
    }

    /**
     * One destination of a rule piece, with what it matches precomputed. In a CapGrant piece {@code prefix} is the
     * destination prefix and {@code cap} the index of the CapGrant (one per destination alias) it belongs to.
     */
    record DstEntry(String ip, PortRange ports, IpSet set, boolean wildcard, boolean internetOnly, IpPrefix prefix, int cap) {
        DstEntry(String ip, PortRange ports, IpSet set, boolean wildcard, boolean internetOnly) {
            this(ip, ports, set, wildcard, internetOnly, null, -1);
        }
    }

    /**
     * A rule before merging: one (grant, ip-protocol) pair, or a grant's {@code app} capabilities ({@code capMap}
     * non-null: a CapGrant rule, never merged), or one of their companion rules. {@code seq} orders pieces the way
     * headscale emits them; {@code key} is the merge key (SrcIPs and IPProto).
     */
    record Piece(long seq, String key, List<String> srcIps, IpSet srcSet, List<Integer> proto, List<DstEntry> dsts, int srcGroup,
            Matcher matcher, Map<String, List<JsonNode>> capMap, BitSet viaNodes) {
        Piece(long seq, String key, List<String> srcIps, IpSet srcSet, List<Integer> proto, List<DstEntry> dsts, int srcGroup,
                Matcher matcher, Map<String, List<JsonNode>> capMap) {
            this(seq, key, srcIps, srcSet, proto, dsts, srcGroup, matcher, capMap, null);
        }

        boolean isCap() {
            return capMap != null;
        }

        /**
         * A {@code via} grant's rule (headscale's compileViaForNode): it exists only on the nodes carrying one of the
         * grant's via tags ({@code viaNodes}), and there only for the destinations their subnet routes overlap (or, for
         * autogroup:internet, entries flagged {@code internetOnly}, when they are exit nodes).
         */
        boolean isVia() {
            return viaNodes != null;
        }
    }

    /**
     * What {@code ViaRoutesForPeer} needs of every grant (ACLs split per destination as for rules): its sources, the
     * prefixes its destinations resolve to (autogroup:internet apart), and its via tags (empty for a regular grant).
     */
    record GrantRoutes(IpSet src, List<IpPrefix> dst, boolean internet, List<String> via) {}

    /** A via grant without {@code ip}: its sources (a source group) see the via routers serving its destinations. */
    record ViaReach(int srcGroup, BitSet viaNodes, List<IpSet> dsts, boolean internet) {}

    /**
     * Capabilities whose grant also grants a companion in the other direction, with a null value (headscale's
     * companionCaps, as Tailscale does): who may use a drive share learns who shares, a relay learns its clients.
     * Sorted by the original capability, the order of the companion rules.
     */
    static final List<Map.Entry<String, String>> COMPANIONS = List.of(
            Map.entry("tailscale.com/cap/drive", "tailscale.com/cap/drive-sharer"),
            Map.entry("tailscale.com/cap/relay", "tailscale.com/cap/relay-target"));

    /** The companion rules' CapMaps for {@code app}, in order (empty for most grants). */
    static List<Map<String, List<JsonNode>>> companions(Map<String, List<JsonNode>> app) {
        List<Map<String, List<JsonNode>>> out = new ArrayList<>(0);
        for (Map.Entry<String, String> e : COMPANIONS) {
            if (app.containsKey(e.getKey())) out.add(Collections.singletonMap(e.getValue(), null));
        }
        return out;
    }

    /**
     * A rule as headscale's {@code matcher.Match} sees it: every address its SrcIPs and destination IPs name, ports and
     * protocols ignored. Peer and route visibility are decided on these.
     */
    record Matcher(IpSet srcs, IpSet dsts) {}

    /**
     * An autogroup:self destination, expanded per node: a protocol and its ports, or ({@code capMap} non-null) the
     * grant's app capabilities with their companions' CapMaps.
     */
    record SelfPiece(long seq, List<IpSet> sources, List<Integer> proto, List<PortRange> ports,
            Map<String, List<JsonNode>> capMap, List<Map<String, List<JsonNode>>> companions) {
        SelfPiece(long seq, List<IpSet> sources, List<Integer> proto, List<PortRange> ports) {
            this(seq, sources, proto, ports, null, List.of());
        }

        boolean isCap() {
            return capMap != null;
        }
    }

    static final class Compilation {
        final Policy policy;
        final List<User> users;
        final String serverUrl;
        final NodeInfo[] nodes;
        final Map<Long, Integer> byId = new HashMap<>();
        final Map<Long, List<NodeInfo>> untaggedByUser = new HashMap<>();
        final Map<String, IpSet> aliasCache = new HashMap<>();
        final List<Piece> pieces = new ArrayList<>();
        final List<SelfPiece> selfPieces = new ArrayList<>();
        final Map<String, Integer> srcGroups = new LinkedHashMap<>();
        final List<BitSet> srcGroupNodes = new ArrayList<>();
        final Map<String, Long> keyFirstSeq = new HashMap<>();
        /**
         * Equal SrcIPs lists share one instance: the same sources recur across rules, formatting them is the costly part
         * of a compile, and shared lists make every node's filter cheaper to compare and encode.
         */
        private final Map<IpSet, List<String>> setStrings = new HashMap<>();
        private final Map<List<String>, List<String>> srcLists = new HashMap<>();
        List<String> approvedSubnets;
        IpSet approvedSubnetSet;
        /** Nodes serving approved and announced subnet or exit routes. */
        List<NodeInfo> routers;
        int[][] nodeMatches; // per node: pairs (piece, entry) in piece order
        BitSet[] pieceDstNodes; // per piece: nodes in its destinations, by address or by subnet route
        BitSet[] reach;
        /** Via grants with {@code app} only: peers without rules. */
        final List<ViaReach> viaReach = new ArrayList<>();
        /** Every grant in rule order, for via steering; empty when the policy has no via grant. */
        final List<GrantRoutes> grantRoutes = new ArrayList<>();
        boolean hasVia;

        Compilation(Policy policy, List<TailnetNode> nodeList, List<User> users, String serverUrl) {
            this.policy = policy;
            this.users = List.copyOf(users);
            this.serverUrl = serverUrl;
            this.nodes = new NodeInfo[nodeList.size()];
            for (int i = 0; i < nodes.length; i++) {
                NodeInfo n = new NodeInfo(i, nodeList.get(i));
                nodes[i] = n;
                byId.put(n.node.id(), i);
                if (!n.tagged() && n.node.userId() != null) untaggedByUser.computeIfAbsent(n.node.userId(), k -> new ArrayList<>()).add(n);
            }
            LinkedHashMap<String, Boolean> subnets = new LinkedHashMap<>();
            IpSet.Builder subnetSet = new IpSet.Builder();
            List<NodeInfo> rs = new ArrayList<>();
            for (NodeInfo n : nodes) {
                for (IpPrefix r : n.subnetRoutes) {
                    subnets.put(r.toString(), true);
                    subnetSet.add(r);
                }
                if (!n.subnetRoutes.isEmpty() || n.exitNode) rs.add(n);
            }
            approvedSubnets = List.copyOf(subnets.keySet());
            approvedSubnetSet = subnetSet.build();
            routers = List.copyOf(rs);
        }

        // ---- resolution ----

        /**
         * The users a group member names: one user ({@link #resolveUser}), or for {@code oidc-group:NAME} every user
         * whose identity provider groups (as of their last login) include NAME.
         */
        List<Long> memberUsers(Alias.User member) {
            if (member.isDomainWildcard()) {
                // Tailscale's user:*@example.com: every user whose email is at that domain.
                String at = "@" + member.domain().toLowerCase(java.util.Locale.ROOT);
                List<Long> ids = new ArrayList<>();
                for (User u : users) {
                    if (u.email() != null && u.email().toLowerCase(java.util.Locale.ROOT).endsWith(at)) ids.add(u.id());
                }
                return ids;
            }
            if (member.isIdpGroup()) {
                String name = member.token().substring(Alias.IDP_GROUP.length());
                List<Long> ids = new ArrayList<>();
                for (User u : users) if (u.groups().contains(name)) ids.add(u.id());
                return ids;
            }
            Long id = resolveUser(member.token());
            return id == null ? List.of() : List.of(id);
        }

        /** The user an alias token names: provider id, then email or name (unique), else none. */
        Long resolveUser(String token) {
            String t = token.endsWith("@") ? token.substring(0, token.length() - 1) : token;
            Long found = null;
            int matches = 0;
            for (User u : users) {
                if (u.providerId() != null && u.providerId().equals(t)) return u.id();
                if (t.equals(u.email()) || t.equals(u.name())) {
                    matches++;
                    found = u.id();
                }
            }
            return matches == 1 ? found : null; // unknown or ambiguous users match nothing
        }

        IpSet resolve(Alias a) {
            String k = a.getClass().getSimpleName() + ":" + a;
            IpSet s = aliasCache.get(k);
            if (s == null) {
                s = resolveUncached(a);
                aliasCache.put(k, s);
            }
            return s;
        }

        private IpSet resolveUncached(Alias a) {
            IpSet.Builder b = new IpSet.Builder();
            switch (a) {
                case Alias.Wildcard w -> {
                    return TAILNET;
                }
                case Alias.User u -> {
                    for (Long id : memberUsers(u)) for (NodeInfo n : untaggedByUser.getOrDefault(id, List.of())) n.addTo(b);
                }
                case Alias.Group g -> {
                    for (Alias.User u : policy.groups().getOrDefault(g.name(), List.of())) {
                        for (Long id : memberUsers(u)) for (NodeInfo n : untaggedByUser.getOrDefault(id, List.of())) n.addTo(b);
                    }
                }
                case Alias.Tag t -> {
                    for (NodeInfo n : nodes) if (n.node.tags().contains(t.name())) n.addTo(b);
                }
                case Alias.Host h -> b.add(policy.hosts().get(h.name()));
                case Alias.Prefix p -> b.add(p.prefix());
                case Alias.AutoGroup ag -> {
                    switch (ag.name()) {
                        case Alias.INTERNET -> {
                            return INTERNET;
                        }
                        case Alias.DANGER_ALL -> {
                            return ALL;
                        }
                        case Alias.MEMBER -> {
                            for (NodeInfo n : nodes) if (!n.tagged()) n.addTo(b);
                        }
                        case Alias.TAGGED -> {
                            for (NodeInfo n : nodes) if (n.tagged()) n.addTo(b);
                        }
                        default -> {
                            return IpSet.EMPTY; // self is per node; nonroot names no addresses
                        }
                    }
                }
            }
            return b.build();
        }

        // ---- pieces ----

        void run() {
            int grantIndex = 0;
            hasVia = policy.grants().stream().anyMatch(g -> !g.via().isEmpty());
            for (Grant g : policy.grants()) {
                if (hasVia) grantRoutes.add(grantRoutes(g.src(), g.dst(), g.via()));
                if (g.via().isEmpty()) addGrant(grantIndex++, g.src(), g.dst(), g.ip(), g.app());
                else addViaGrant(grantIndex++, g.src(), g.dst(), g.ip(), g.app(), g.via());
            }
            for (Acl acl : policy.acls()) {
                // One grant per destination; with any non-autogroup destination, self destinations go last.
                boolean hasNonAutogroup = acl.dst().stream().anyMatch(d -> !(d.alias() instanceof Alias.AutoGroup));
                List<Dest> ordered = new ArrayList<>();
                if (hasNonAutogroup) {
                    for (Dest d : acl.dst()) if (!isSelf(d.alias())) ordered.add(d);
                    for (Dest d : acl.dst()) if (isSelf(d.alias())) ordered.add(d);
                } else {
                    ordered.addAll(acl.dst());
                }
                for (Dest d : ordered) {
                    if (hasVia) grantRoutes.add(grantRoutes(acl.src(), List.of(d.alias()), List.of()));
                    addGrant(grantIndex++, acl.src(), List.of(d.alias()), List.of(new ProtoPorts(acl.proto(), d.ports())), Map.of());
                }
            }
            index();
        }

        private static boolean isSelf(Alias a) {
            return a instanceof Alias.AutoGroup ag && ag.is(Alias.SELF);
        }

        private void addGrant(int grantIndex, List<Alias> src, List<Alias> dst, List<ProtoPorts> ip, Map<String, List<JsonNode>> app) {
            if (src.isEmpty() || dst.isEmpty()) return;
            List<IpSet> resolved = new ArrayList<>();
            List<IpSet> nonWildcard = new ArrayList<>();
            boolean wildcard = false, dangerAll = false;
            IpSet.Builder merged = new IpSet.Builder();
            for (Alias a : src) {
                IpSet s = resolve(a);
                resolved.add(s);
                merged.addAll(s);
                if (a instanceof Alias.Wildcard) wildcard = true;
                else nonWildcard.add(s);
                if (a instanceof Alias.AutoGroup ag && ag.is(Alias.DANGER_ALL)) dangerAll = true;
            }
            IpSet srcSet = merged.build();
            // What the emitted SrcIPs name: * sources also stand for the approved subnets (see below).
            IpSet matchSrc = dangerAll ? ALL : wildcard ? srcSet.union(approvedSubnetSet) : srcSet;
            List<String> srcIps;
            if (srcSet.isEmpty()) {
                srcIps = List.of();
            } else if (dangerAll) {
                srcIps = List.of("*");
            } else {
                List<String> s = new ArrayList<>(setStrings.computeIfAbsent(srcSet, IpSet::strings));
                if (wildcard) {
                    s.addAll(approvedSubnets);
                    // With * among the sources, the other sources' own entries are kept too (as Tailscale does).
                    java.util.Set<String> seen = new java.util.HashSet<>(s);
                    for (IpSet nw : nonWildcard) for (String x : setStrings.computeIfAbsent(nw, IpSet::strings)) if (seen.add(x)) s.add(x);
                }
                srcIps = srcLists.computeIfAbsent(List.copyOf(s), l -> l);
            }
            List<Alias> other = dst.stream().filter(a -> !isSelf(a)).toList();
            boolean hasSelf = other.size() != dst.size();
            if (!other.isEmpty() && !srcIps.isEmpty()) {
                String srcKey = String.join(",", srcIps);
                int ipIndex = 0;
                for (ProtoPorts pp : ip) {
                    List<DstEntry> entries = new ArrayList<>();
                    for (Alias d : other) {
                        if (d instanceof Alias.Wildcard) {
                            for (PortRange port : pp.ports()) entries.add(new DstEntry("*", port, null, true, false));
                            continue;
                        }
                        IpSet ds = resolve(d);
                        List<String> ps = ds.prefixStrings();
                        List<IpSet> sets = ds.prefixSets();
                        for (int i = 0; i < ps.size(); i++) {
                            boolean inet = sets.get(i).subsetOf(INTERNET);
                            for (PortRange port : pp.ports()) entries.add(new DstEntry(ps.get(i), port, sets.get(i), false, inet));
                        }
                    }
                    if (!entries.isEmpty()) {
                        IpSet.Builder dstAll = new IpSet.Builder();
                        for (DstEntry e : entries) dstAll.addAll(e.wildcard() ? ALL : e.set());
                        Matcher matcher = new Matcher(matchSrc, dstAll.build());
                        long seq = ((long) grantIndex * 2) << 20 | ipIndex;
                        String key = srcKey + "|" + (pp.proto().numbers() == null ? "" : pp.proto().numbers().toString());
                        int group = srcGroup(srcKey, matchSrc);
                        pieces.add(new Piece(seq, key, srcIps, srcSet, pp.proto().numbers(), entries, group, matcher, null));
                        keyFirstSeq.putIfAbsent(key, seq);
                    }
                    ipIndex++;
                }
            }
            if (!other.isEmpty() && !app.isEmpty()) addAppPieces(((long) grantIndex * 2) << 20 | ip.size(), resolved, srcIps, srcSet, matchSrc, other, app);
            if (hasSelf && !srcSet.isEmpty()) {
                int ipIndex = 0;
                for (ProtoPorts pp : ip) {
                    long seq = ((long) grantIndex * 2 + 1) << 20 | ipIndex++;
                    selfPieces.add(new SelfPiece(seq, resolved, pp.proto().numbers(), pp.ports()));
                }
                if (!app.isEmpty()) {
                    selfPieces.add(new SelfPiece(((long) grantIndex * 2 + 1) << 20 | ip.size(), resolved, null, null, app, companions(app)));
                }
            }
        }

        /** headscale's resolveViaDestinations, with the grant's merged sources and via tags. */
        private GrantRoutes grantRoutes(List<Alias> src, List<Alias> dst, List<String> via) {
            IpSet.Builder s = new IpSet.Builder();
            for (Alias a : src) s.addAll(resolve(a));
            List<IpPrefix> prefixes = new ArrayList<>();
            boolean internet = false;
            for (Alias d : dst) {
                if (d instanceof Alias.AutoGroup ag && ag.is(Alias.INTERNET)) {
                    internet = true;
                    continue;
                }
                for (String p : resolve(d).prefixStrings()) prefixes.add(IpPrefix.parse(p));
            }
            return new GrantRoutes(s.build(), List.copyOf(prefixes), internet, via);
        }

        /**
         * A grant with {@code via} (headscale's compileOneViaGrant): no rule for everyone, but one per protocol on each
         * node carrying a via tag, from the sources (SrcIPs as for other grants, without the extra entries of non-*
         * sources beside *) to the destination prefixes its approved subnet routes overlap, and to the internet when
         * it is an exit node and the destinations name autogroup:internet. {@code app} alone makes no rule.
         */
        private void addViaGrant(int grantIndex, List<Alias> src, List<Alias> dst, List<ProtoPorts> ip,
                Map<String, List<JsonNode>> app, List<String> via) {
            if (src.isEmpty() || dst.isEmpty()) return;
            IpSet.Builder merged = new IpSet.Builder();
            boolean wildcard = false, dangerAll = false;
            for (Alias a : src) {
                merged.addAll(resolve(a));
                if (a instanceof Alias.Wildcard) wildcard = true;
                if (a instanceof Alias.AutoGroup ag && ag.is(Alias.DANGER_ALL)) dangerAll = true;
            }
            IpSet srcSet = merged.build();
            if (srcSet.isEmpty()) return;
            IpSet matchSrc = dangerAll ? ALL : wildcard ? srcSet.union(approvedSubnetSet) : srcSet;
            List<String> srcIps;
            if (dangerAll) {
                srcIps = List.of("*");
            } else {
                List<String> l = new ArrayList<>(setStrings.computeIfAbsent(srcSet, IpSet::strings));
                if (wildcard) l.addAll(approvedSubnets);
                srcIps = srcLists.computeIfAbsent(List.copyOf(l), x -> x);
            }
            BitSet viaNodes = new BitSet(nodes.length);
            for (NodeInfo n : nodes) for (String t : via) if (n.node.tags().contains(t)) viaNodes.set(n.index);
            List<IpSet> subnetDsts = new ArrayList<>();
            List<String> subnetStrings = new ArrayList<>();
            boolean internet = false;
            for (Alias d : dst) {
                if (d instanceof Alias.AutoGroup ag && ag.is(Alias.INTERNET)) {
                    internet = true;
                    continue;
                }
                IpSet ds = resolve(d);
                subnetStrings.addAll(ds.prefixStrings());
                subnetDsts.addAll(ds.prefixSets());
            }
            String srcKey = String.join(",", srcIps);
            int group = srcGroup(srcKey, matchSrc);
            if (ip.isEmpty()) {
                // app alone: no rule (headscale makes none either), but Tailscale still shows the sources the via
                // routers that serve the destinations, and those routers the sources (grant-k12).
                if (!app.isEmpty()) viaReach.add(new ViaReach(group, viaNodes, List.copyOf(subnetDsts), internet));
                return;
            }
            int ipIndex = 0;
            for (ProtoPorts pp : ip) {
                List<DstEntry> entries = new ArrayList<>();
                IpSet.Builder dstAll = new IpSet.Builder();
                for (int i = 0; i < subnetDsts.size(); i++) {
                    for (PortRange port : pp.ports()) entries.add(new DstEntry(subnetStrings.get(i), port, subnetDsts.get(i), false, false));
                    dstAll.addAll(subnetDsts.get(i));
                }
                if (internet) {
                    List<String> ps = INTERNET.prefixStrings();
                    List<IpSet> sets = INTERNET.prefixSets();
                    for (int i = 0; i < ps.size(); i++) {
                        for (PortRange port : pp.ports()) entries.add(new DstEntry(ps.get(i), port, sets.get(i), false, true));
                    }
                    dstAll.addAll(INTERNET);
                }
                long seq = ((long) grantIndex * 2) << 20 | ipIndex++;
                String key = srcKey + "|" + (pp.proto().numbers() == null ? "" : pp.proto().numbers().toString());
                // The key's place is not registered globally: the rule exists only on the via nodes it matches.
                if (!entries.isEmpty()) {
                    pieces.add(new Piece(seq, key, srcIps, srcSet, pp.proto().numbers(), entries, group,
                            new Matcher(matchSrc, dstAll.build()), null, viaNodes));
                }
            }
        }

        /** The index of the source group of rules whose SrcIPs are {@code srcKey}: the nodes that send as them. */
        private int srcGroup(String srcKey, IpSet matchSrc) {
            return srcGroups.computeIfAbsent(srcKey, k -> {
                BitSet b = new BitSet(nodes.length);
                for (NodeInfo n : nodes) if (n.in(matchSrc)) b.set(n.index);
                // A subnet router sends on behalf of its subnets (headscale #3157).
                for (NodeInfo r : routers) {
                    for (IpPrefix route : r.subnetRoutes) if (matchSrc.overlaps(route)) b.set(r.index);
                }
                srcGroupNodes.add(b);
                return srcGroupNodes.size() - 1;
            });
        }

        /**
         * A grant's {@code app} (headscale's compileOtherDests): one CapGrant rule from the sources (SrcIPs as for
         * {@code ip}, an empty list when they resolve to nothing, as Tailscale sends) with a CapGrant per destination
         * alias, then the companion rules in the other direction, from the destinations ({@code *} with the approved
         * subnets) to the sources. Each node later keeps the CapGrants naming it, narrowed to its own addresses.
         */
        private void addAppPieces(long seq, List<IpSet> resolvedSrcs, List<String> srcIps, IpSet srcSet, IpSet matchSrc,
                List<Alias> dst, Map<String, List<JsonNode>> app) {
            List<DstEntry> entries = new ArrayList<>();
            IpSet.Builder dstAll = new IpSet.Builder();
            List<String> dstStrings = new ArrayList<>();
            boolean dstWildcard = false;
            for (int cap = 0; cap < dst.size(); cap++) {
                Alias d = dst.get(cap);
                IpSet ds = resolve(d); // * is the tailnet's ranges here, not "*"
                dstWildcard |= d instanceof Alias.Wildcard;
                dstAll.addAll(ds);
                dstStrings.addAll(setStrings.computeIfAbsent(ds, IpSet::strings));
                capEntries(entries, ds, cap);
            }
            IpSet dstSet = dstAll.build();
            String srcKey = String.join(",", srcIps);
            pieces.add(new Piece(seq, "cap#" + seq, srcIps, srcSet, null, entries, srcGroup(srcKey, matchSrc),
                    new Matcher(matchSrc, dstSet), app));
            List<Map<String, List<JsonNode>>> companions = companions(app);
            if (companions.isEmpty()) return;
            if (dstWildcard) dstStrings.addAll(approvedSubnets);
            List<String> compSrc = srcLists.computeIfAbsent(List.copyOf(dstStrings), l -> l);
            IpSet compSrcSet = dstWildcard ? dstSet.union(approvedSubnetSet) : dstSet;
            // The companion's destinations are the sources, alias by alias (headscale concatenates their prefixes).
            List<DstEntry> compEntries = new ArrayList<>();
            for (IpSet s : resolvedSrcs) capEntries(compEntries, s, 0);
            int group = srcGroup(String.join(",", compSrc), compSrcSet);
            for (int i = 0; i < companions.size(); i++) {
                long cseq = seq + 1 + i;
                pieces.add(new Piece(cseq, "cap#" + cseq, compSrc, compSrcSet, null, compEntries, group,
                        new Matcher(compSrcSet, srcSet), companions.get(i)));
            }
        }

        /** One entry per prefix of {@code set}, each a single range as the index needs. */
        private static void capEntries(List<DstEntry> out, IpSet set, int cap) {
            List<String> ps = set.prefixStrings();
            List<IpSet> sets = set.prefixSets();
            for (int i = 0; i < ps.size(); i++) out.add(new DstEntry(ps.get(i), null, sets.get(i), false, false, IpPrefix.parse(ps.get(i)), cap));
        }

        /** For every destination entry, the nodes it matches: an index from nodes to entries, and reachability. */
        private void index() {
            int n = nodes.length;
            // Nodes sorted by address, to find those inside an entry's range by binary search.
            Integer[] by4 = java.util.stream.IntStream.range(0, n).filter(i -> nodes[i].v4 >= 0).boxed().toArray(Integer[]::new);
            java.util.Arrays.sort(by4, (a, b) -> Long.compare(nodes[a].v4, nodes[b].v4));
            long[] keys4 = new long[by4.length];
            for (int i = 0; i < by4.length; i++) keys4[i] = nodes[by4[i]].v4;
            Integer[] by6 = java.util.stream.IntStream.range(0, n).filter(i -> nodes[i].hasV6).boxed().toArray(Integer[]::new);
            java.util.Arrays.sort(by6, (a, b) -> IpSet.cmp(nodes[a].v6hi, nodes[a].v6lo, nodes[b].v6hi, nodes[b].v6lo));
            long[] keys6hi = new long[by6.length], keys6lo = new long[by6.length];
            for (int i = 0; i < by6.length; i++) {
                keys6hi[i] = nodes[by6[i]].v6hi;
                keys6lo[i] = nodes[by6[i]].v6lo;
            }

            IntList[] matches = new IntList[n];
            for (int i = 0; i < n; i++) matches[i] = new IntList();
            BitSet[] groupDst = new BitSet[srcGroupNodes.size()];
            for (int g = 0; g < groupDst.length; g++) groupDst[g] = new BitSet(n);
            BitSet seen = new BitSet(n);
            pieceDstNodes = new BitSet[pieces.size()];
            for (int p = 0; p < pieces.size(); p++) {
                Piece piece = pieces.get(p);
                BitSet dst = groupDst[piece.srcGroup()];
                BitSet pieceDst = pieceDstNodes[p] = new BitSet(n);
                if (piece.isVia()) {
                    BitSet via = piece.viaNodes();
                    for (int e = 0; e < piece.dsts().size(); e++) {
                        DstEntry d = piece.dsts().get(e);
                        seen.clear();
                        for (int i = via.nextSetBit(0); i >= 0; i = via.nextSetBit(i + 1)) {
                            NodeInfo r = nodes[i];
                            boolean hit = d.internetOnly() ? r.exitNode : r.subnetRoutes.stream().anyMatch(d.set()::overlaps);
                            if (hit) seen.set(i);
                        }
                        for (int i = seen.nextSetBit(0); i >= 0; i = seen.nextSetBit(i + 1)) matches[i].add(p, e);
                        pieceDst.or(seen);
                        dst.or(seen);
                    }
                    continue;
                }
                for (int e = 0; e < piece.dsts().size(); e++) {
                    DstEntry d = piece.dsts().get(e);
                    if (d.wildcard()) {
                        for (int i = 0; i < n; i++) matches[i].add(p, e);
                        dst.set(0, n);
                        pieceDst.set(0, n);
                        continue;
                    }
                    seen.clear();
                    long[] start = d.set().first();
                    if (d.set().hasV4()) {
                        for (int k = lowerBound(null, keys4, 0, start[1]); k < keys4.length && d.set().containsV4(keys4[k]); k++) seen.set(by4[k]);
                    } else {
                        for (int k = lowerBound(keys6hi, keys6lo, start[0], start[1]); k < keys6hi.length
                                && d.set().containsV6(keys6hi[k], keys6lo[k]); k++) seen.set(by6[k]);
                    }
                    pieceDst.or(seen);
                    for (NodeInfo r : routers) {
                        if (seen.get(r.index)) continue;
                        boolean subnet = false;
                        for (IpPrefix route : r.subnetRoutes) if (!subnet && d.set().overlaps(route)) subnet = true;
                        if (subnet) pieceDst.set(r.index);
                        if (subnet || (r.exitNode && d.internetOnly())) seen.set(r.index);
                    }
                    for (int i = seen.nextSetBit(0); i >= 0; i = seen.nextSetBit(i + 1)) matches[i].add(p, e);
                    dst.or(seen);
                }
            }
            for (ViaReach v : viaReach) {
                BitSet via = v.viaNodes();
                for (int i = via.nextSetBit(0); i >= 0; i = via.nextSetBit(i + 1)) {
                    NodeInfo r = nodes[i];
                    if ((v.internet() && r.exitNode) || v.dsts().stream().anyMatch(d -> r.subnetRoutes.stream().anyMatch(d::overlaps))) {
                        groupDst[v.srcGroup()].set(i);
                    }
                }
            }
            nodeMatches = new int[n][];
            for (int i = 0; i < n; i++) nodeMatches[i] = matches[i].toArray();
            reach = new BitSet[n];
            for (int i = 0; i < n; i++) reach[i] = new BitSet(n);
            for (int g = 0; g < groupDst.length; g++) {
                BitSet src = srcGroupNodes.get(g);
                for (int i = src.nextSetBit(0); i >= 0; i = src.nextSetBit(i + 1)) reach[i].or(groupDst[g]);
            }
            // autogroup:self: a user's devices in the sources reach all of that user's untagged devices.
            if (!selfPieces.isEmpty()) {
                // Distinct source lists only: ACLs split per destination repeat the same sources.
                List<List<IpSet>> distinct = selfPieces.stream().map(SelfPiece::sources).distinct().toList();
                for (List<NodeInfo> own : untaggedByUser.values()) {
                    BitSet all = new BitSet(n);
                    for (NodeInfo o : own) all.set(o.index);
                    for (NodeInfo o : own) {
                        for (List<IpSet> sources : distinct) {
                            if (sources.stream().anyMatch(o::in)) {
                                reach[o.index].or(all);
                                break;
                            }
                        }
                    }
                }
            }
        }

        /** Index of the first key (hi, lo) not below (h, l); {@code his} null means all hi words are 0 (IPv4). */
        private static int lowerBound(long[] his, long[] los, long h, long l) {
            int lo = 0, hi = (his == null ? los : his).length;
            long[] lows = his == null ? null : los;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                int c = his == null ? Long.compareUnsigned(los == null ? 0 : los[mid], l) : IpSet.cmp(his[mid], lows[mid], h, l);
                if (c < 0) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }

        // ---- routes ----

        /**
         * The nodes that may use {@code route} under the rules (headscale's {@code CanAccessRoute} over the global
         * matchers): sources of rules whose destinations overlap it (they send into it) and destinations of rules whose
         * sources overlap it (they receive from it and need it for replies), each with the subnet routers whose subnets
         * stand in for them. autogroup:self is per viewer and left to the caller.
         */
        BitSet routeUsers(IpPrefix route) {
            BitSet users = new BitSet(nodes.length);
            BitSet groupsDone = new BitSet(srcGroupNodes.size());
            for (int i = 0; i < pieces.size(); i++) {
                Piece p = pieces.get(i);
                Matcher m = p.matcher();
                if (p.isVia()) {
                    // The rule is on the via routers it matched only: they use the route by it, nobody else does.
                    if (m.dsts().overlaps(route)) {
                        BitSet senders = (BitSet) srcGroupNodes.get(p.srcGroup()).clone();
                        senders.and(pieceDstNodes[i]);
                        users.or(senders);
                    }
                    if (m.srcs().overlaps(route)) users.or(pieceDstNodes[i]);
                    continue;
                }
                // Senders: the rule's sources, and subnet routers whose subnets are among them.
                if (!groupsDone.get(p.srcGroup()) && m.dsts().overlaps(route)) {
                    users.or(srcGroupNodes.get(p.srcGroup()));
                    groupsDone.set(p.srcGroup());
                }
                // Receivers: the rule's destinations, and subnet routers whose subnets are among them.
                if (m.srcs().overlaps(route)) users.or(pieceDstNodes[i]);
            }
            return users;
        }

        // ---- tests ----

        void runTests() throws PolicyException {
            CompiledPolicyImpl result = result();
            for (Policy.Test t : policy.tests()) {
                IpSet src = resolve(t.src());
                String where = "test at " + t.pos() + " (src " + t.src() + (t.proto().numbers() == null ? "" : ", proto " + t.proto().name()) + ")";
                if (src.isEmpty()) throw new PolicyException(where + ": source \"" + t.src() + "\" resolved to no IP addresses", t.pos().line(), t.pos().column());
                for (Dest d : t.accept()) {
                    if (!result.allows(src, d, t.proto().numbers(), t.pos(), where)) {
                        throw new PolicyException(where + ": " + t.src() + " -> " + destText(d) + ": expected ALLOWED, got DENIED", t.pos().line(), t.pos().column());
                    }
                }
                for (Dest d : t.deny()) {
                    if (result.allows(src, d, t.proto().numbers(), t.pos(), where)) {
                        throw new PolicyException(where + ": " + t.src() + " -> " + destText(d) + ": expected DENIED, got ALLOWED", t.pos().line(), t.pos().column());
                    }
                }
            }
        }

        static String destText(Dest d) {
            PortRange p = d.ports().getFirst();
            return d.alias() + ":" + (p.equals(PortRange.ANY) ? "*" : p.first() + (p.first().equals(p.last()) ? "" : "-" + p.last()));
        }

        private CompiledPolicyImpl compiled;

        CompiledPolicyImpl result() {
            if (compiled == null) compiled = new CompiledPolicyImpl(this);
            return compiled;
        }
    }

    /** A growable int list of (piece, entry) pairs. */
    static final class IntList {
        int[] a = new int[8];
        int n;

        void add(int x, int y) {
            if (n + 2 > a.length) a = java.util.Arrays.copyOf(a, a.length * 2);
            a[n++] = x;
            a[n++] = y;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
