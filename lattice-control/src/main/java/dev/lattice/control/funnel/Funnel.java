package dev.lattice.control.funnel;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.netmap.PacketPolicy;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.CapGrant;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.NetPortRange;
import dev.lattice.wire.tailcfg.PortRange;
import dev.lattice.wire.tailcfg.Service;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import tools.jackson.databind.JsonNode;

/**
 * Tailscale Funnel's control side. Nodes tagged {@code funnel.ingress_tag} are the ingress; a node is <em>wired</em>
 * to it when the policy's {@code nodeAttrs} give it {@code funnel} and its Hostinfo says Funnel is on
 * ({@code IngressEnabled}) or wanted ({@code WireIngress}), as tailscale's control does. The ingress and the wired
 * nodes see each other, each wired node's filter lets the ingress reach its peer API, and grants it
 * {@code https://tailscale.com/cap/ingress}, which tailscaled's {@code canIngress} asks for. A node with the funnel
 * attribute also gets {@code funnel-ports}, which tailscale's CLI checks before it turns Funnel on.
 */
public final class Funnel {
    /** tailcfg.NodeAttrFunnel. */
    public static final String ATTR_FUNNEL = "funnel";
    /** tailcfg.CapabilityFunnelPorts; the ports follow as {@code ?ports=443,8443}. */
    public static final String CAP_FUNNEL_PORTS = "https://tailscale.com/cap/funnel-ports";
    /** tailcfg.PeerCapabilityIngress. */
    public static final String CAP_INGRESS = "https://tailscale.com/cap/ingress";

    private final ControlConfig.Funnel config;
    private final Tailnet tailnet;
    private final String portsAttr;
    private volatile Wrapped current;
    private final Map<Long, Fingerprint> seen = new HashMap<>(); // guarded by this
    private Consumer<PacketPolicy> publish = p -> {};

    public Funnel(ControlConfig.Funnel config, Tailnet tailnet) {
        this.config = Objects.requireNonNull(config);
        this.tailnet = tailnet;
        this.portsAttr = CAP_FUNNEL_PORTS + "?ports=" + config.ports();
        this.current = new Wrapped(PacketPolicy.ALLOW_ALL);
    }

    /** The public addresses the authoritative DNS gives Funnel names. */
    public List<InetAddress> addresses() {
        return config.addresses();
    }

    /** The base policy with Funnel's peers, rules, grants and attributes added. */
    public synchronized PacketPolicy wrap(PacketPolicy base) {
        current = new Wrapped(Objects.requireNonNull(base));
        snapshot();
        return current;
    }

    /**
     * Follows the tailnet: when a node's Funnel state (wired, ingress, peer API ports) changes, the wrapped policy is
     * published again, so each session sends the peers and rules that changed (a policy delta).
     */
    public void follow(Consumer<PacketPolicy> publish) {
        this.publish = publish;
        tailnet.addListener(this::onChanges);
    }

    private void onChanges(List<Change> changes) {
        boolean changed = false;
        synchronized (this) {
            for (Change c : changes) {
                switch (c.kind()) {
                    case ADDED, UPDATED, REMOVED, FULL -> {
                        if (c.kind() == Change.Kind.FULL) {
                            Map<Long, Fingerprint> before = new HashMap<>(seen);
                            snapshot();
                            changed |= !before.equals(seen);
                        } else {
                            Fingerprint now = tailnet.node(c.nodeId()).map(this::fingerprint).orElse(null);
                            Fingerprint was = now == null ? seen.remove(c.nodeId()) : seen.put(c.nodeId(), now);
                            changed |= !Objects.equals(was, now);
                        }
                    }
                    default -> {}
                }
            }
        }
        if (changed) publish.accept(current);
    }

    private void snapshot() {
        seen.clear();
        for (TailnetNode n : tailnet.nodes()) {
            Fingerprint f = fingerprint(n);
            if (f != null) seen.put(n.id(), f);
        }
    }

    /** What of a node Funnel acts on; null for nodes it ignores (most). */
    private Fingerprint fingerprint(TailnetNode n) {
        boolean ingress = isIngress(n), wired = isWired(n);
        if (!ingress && !wired) return null;
        return new Fingerprint(ingress, wired, publishes(n), peerApiPorts(n));
    }

    private record Fingerprint(boolean ingress, boolean wired, boolean publishes, List<Integer> ports) {}

    public boolean isIngress(TailnetNode n) {
        return n.tags().contains(config.ingressTag());
    }

    /** Whether the policy gives {@code n} the funnel attribute. */
    public boolean hasFunnelAttr(TailnetNode n) {
        return current.base.nodeAttrs(n).contains(ATTR_FUNNEL);
    }

    /** Funnel on or wanted, and allowed: the ingress and this node are connected. */
    public boolean isWired(TailnetNode n) {
        Hostinfo h = n.hostinfo();
        return h != null && (h.ingressEnabled() || h.wireIngress()) && !isIngress(n) && hasFunnelAttr(n);
    }

    /** Funnel on and allowed: the node's name answers publicly with the ingress's addresses. */
    public boolean publishes(TailnetNode n) {
        Hostinfo h = n.hostinfo();
        return h != null && h.ingressEnabled() && !isIngress(n) && hasFunnelAttr(n);
    }

    /** peerapi4 and peerapi6 ports from Hostinfo.Services (0 where absent). */
    static List<Integer> peerApiPorts(TailnetNode n) {
        int v4 = 0, v6 = 0;
        Hostinfo h = n.hostinfo();
        if (h != null) {
            for (Service s : h.services()) {
                if (s == null || s.proto() == null || s.port() == null) continue;
                if (s.proto().equals("peerapi4")) v4 = s.port();
                else if (s.proto().equals("peerapi6")) v6 = s.port();
            }
        }
        return List.of(v4, v6);
    }

    private static List<String> ips(TailnetNode n) {
        List<String> out = new ArrayList<>(2);
        if (n.ipv4() != null) out.add(IpPrefix.format(n.ipv4()));
        if (n.ipv6() != null) out.add(IpPrefix.format(n.ipv6()));
        return out;
    }

    /** The policy with Funnel's additions; everything else is the base's answer. */
    final class Wrapped implements PacketPolicy {
        final PacketPolicy base;

        Wrapped(PacketPolicy base) {
            this.base = base;
        }

        @Override
        public List<FilterRule> filterFor(TailnetNode node) {
            List<FilterRule> rules = base.filterFor(node);
            if (!isWired(node)) return rules;
            List<String> src = new ArrayList<>();
            for (TailnetNode n : tailnet.nodes()) if (isIngress(n)) src.addAll(ips(n));
            if (src.isEmpty()) return rules;
            List<Integer> ports = peerApiPorts(node);
            List<NetPortRange> dsts = new ArrayList<>(2);
            List<IpPrefix> grantDsts = new ArrayList<>(2);
            if (node.ipv4() != null) {
                grantDsts.add(new IpPrefix(node.ipv4(), 32));
                if (ports.get(0) > 0) dsts.add(new NetPortRange(IpPrefix.format(node.ipv4()), null, new PortRange(ports.get(0), ports.get(0))));
            }
            if (node.ipv6() != null) {
                grantDsts.add(new IpPrefix(node.ipv6(), 128));
                if (ports.get(1) > 0) dsts.add(new NetPortRange(IpPrefix.format(node.ipv6()), null, new PortRange(ports.get(1), ports.get(1))));
            }
            List<FilterRule> out = new ArrayList<>(rules.size() + 2);
            out.addAll(rules);
            // The ingress reaches the peer API over TCP only; the grant is what tailscaled's canIngress looks for.
            if (!dsts.isEmpty()) out.add(new FilterRule(List.copyOf(src), null, List.copyOf(dsts), List.of(6), null));
            out.add(new FilterRule(List.copyOf(src), null, null, null,
                    List.of(new CapGrant(List.copyOf(grantDsts), null, Map.<String, List<JsonNode>>of(CAP_INGRESS, List.of())))));
            return List.copyOf(out);
        }

        @Override
        public boolean canSee(TailnetNode viewer, TailnetNode peer) {
            return base.canSee(viewer, peer) || linked(viewer, peer);
        }

        private boolean linked(TailnetNode a, TailnetNode b) {
            return (isIngress(a) && isWired(b)) || (isWired(a) && isIngress(b));
        }

        @Override
        public BitSet visiblePeers(TailnetNode viewer, List<TailnetNode> all) {
            BitSet out = base.visiblePeers(viewer, all);
            boolean ingress = isIngress(viewer), wired = isWired(viewer);
            if (!ingress && !wired) return out;
            for (TailnetNode n : all) {
                if (n.id() != viewer.id() && linked(viewer, n)) out.set(Math.toIntExact(n.id()));
            }
            return out;
        }

        @Override
        public List<IpPrefix> reduceRoutes(TailnetNode viewer, List<IpPrefix> routes) {
            return base.reduceRoutes(viewer, routes);
        }

        @Override
        public JsonNode sshPolicyFor(TailnetNode node) {
            return base.sshPolicyFor(node);
        }

        @Override
        public dev.lattice.control.netmap.ViaRoutes viaRoutes(TailnetNode viewer, TailnetNode peer) {
            return base.viaRoutes(viewer, peer);
        }

        @Override
        public boolean hasVia() {
            return base.hasVia();
        }

        @Override
        public java.util.Optional<java.time.Duration> sshCheckPeriod(TailnetNode src, TailnetNode dst) {
            return base.sshCheckPeriod(src, dst);
        }

        @Override
        public List<String> nodeAttrs(TailnetNode node) {
            List<String> attrs = base.nodeAttrs(node);
            if (!attrs.contains(ATTR_FUNNEL) || attrs.contains(portsAttr)) return attrs;
            List<String> out = new ArrayList<>(attrs);
            out.add(portsAttr);
            return List.copyOf(out);
        }
    }
}
