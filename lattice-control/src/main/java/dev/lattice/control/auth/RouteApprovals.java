package dev.lattice.control.auth;

import dev.lattice.control.policy.CompiledPolicy;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy's {@code autoApprovers}: routes a node advertises (Hostinfo.RoutableIPs) become approved when the
 * policy approves them for that node, as headscale's {@code ApproveRoutesWithPolicy}. Approval only adds: routes
 * approved before stay approved (only an admin removes them), and a route the node stops advertising stays approved
 * but is not served (TailcfgNodes routes only approved ∩ advertised).
 *
 * <p>Checked when a node registers, when its Hostinfo changes, when its tags change, and after every new policy.
 */
public final class RouteApprovals {
    private static final Logger log = LoggerFactory.getLogger(RouteApprovals.class);
    private static final IpPrefix ALL_V4 = IpPrefix.parse("0.0.0.0/0");
    private static final IpPrefix ALL_V6 = IpPrefix.parse("::/0");

    private final Tailnet tailnet;
    private final Supplier<Optional<CompiledPolicy>> policy;

    public RouteApprovals(Tailnet tailnet, Supplier<Optional<CompiledPolicy>> policy) {
        this.tailnet = tailnet;
        this.policy = policy;
    }

    /** The routes that should be approved for {@code n}: what is approved now plus what the policy approves. */
    public static List<IpPrefix> approved(CompiledPolicy p, TailnetNode n, List<IpPrefix> advertised) {
        LinkedHashSet<IpPrefix> out = new LinkedHashSet<>(n.approvedRoutes());
        Boolean exit = null; // asked at most once
        for (IpPrefix r : advertised) {
            if (out.contains(r)) continue;
            boolean ok;
            if (r.equals(ALL_V4) || r.equals(ALL_V6)) {
                if (exit == null) exit = p.autoApprovesExitNode(n);
                ok = exit;
            } else {
                ok = p.autoApprovesRoute(n, r);
            }
            if (ok) out.add(r);
        }
        List<IpPrefix> sorted = new ArrayList<>(out);
        sorted.sort(ORDER);
        return sorted;
    }

    /** Applies the policy's auto-approvals to node {@code id}; returns the node as stored afterwards. */
    public Optional<TailnetNode> apply(long id) {
        Optional<CompiledPolicy> p = policy.get();
        Optional<TailnetNode> cur = tailnet.node(id);
        if (p.isEmpty() || cur.isEmpty()) return cur;
        List<IpPrefix> advertised = cur.get().announcedRoutes();
        if (advertised.isEmpty()) return cur;
        try {
            return tailnet.update(id, Change.Kind.UPDATED, n -> {
                List<IpPrefix> next = approved(p.get(), n, advertised);
                if (next.equals(sortedCopy(n.approvedRoutes()))) return n;
                log.info("node {} ({}): routes auto-approved by policy: {}", n.id(), n.givenName(), next);
                return n.toBuilder().approvedRoutes(next).build();
            });
        } catch (RuntimeException e) {
            log.warn("auto-approving routes of node {} failed: {}", id, e.toString());
            return cur;
        }
    }

    /** After a policy change: every node's advertised routes are checked again. */
    public void applyAll() {
        if (policy.get().isEmpty()) return;
        for (TailnetNode n : tailnet.nodes()) apply(n.id());
    }

    private static List<IpPrefix> sortedCopy(List<IpPrefix> l) {
        List<IpPrefix> s = new ArrayList<>(new LinkedHashSet<>(l));
        s.sort(ORDER);
        return s;
    }

    /** IPv4 before IPv6, then by address and length (as the admin API sorts approved routes). */
    static final Comparator<IpPrefix> ORDER = (a, b) -> {
        byte[] x = a.bytes();
        byte[] y = b.bytes();
        if (x.length != y.length) return Integer.compare(x.length, y.length);
        int c = Arrays.compareUnsigned(x, y);
        return c != 0 ? c : Integer.compare(a.bits(), b.bits());
    };
}
