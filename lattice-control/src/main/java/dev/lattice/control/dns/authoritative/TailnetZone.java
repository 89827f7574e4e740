package dev.lattice.control.dns.authoritative;

import dev.lattice.control.certs.AcmeChallenges;
import dev.lattice.control.certs.SetDnsRequests;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The zone's data from the live tailnet: nodes by their MagicDNS label, and the challenge values nodes set. The
 * label index is rebuilt only when the tailnet's node list changed (it hands out one snapshot until a write), so a
 * query costs a map lookup however large the tailnet.
 */
public final class TailnetZone implements ZoneData {
    private record Index(List<TailnetNode> snapshot, Map<String, TailnetNode> byLabel) {}

    private final Tailnet tailnet;
    private final AcmeChallenges challenges;
    private final SetDnsRequests owners;
    private volatile Index index = new Index(null, Map.of());

    private final java.util.function.Predicate<TailnetNode> funnel;
    private final List<InetAddress> ingress;

    public TailnetZone(Tailnet tailnet, AcmeChallenges challenges, SetDnsRequests owners) {
        this(tailnet, challenges, owners, n -> false, List.of());
    }

    /**
     * @param funnel whether a node publishes through the Funnel ingress
     * @param ingress the ingress's public addresses, its names' answers
     */
    public TailnetZone(Tailnet tailnet, AcmeChallenges challenges, SetDnsRequests owners,
            java.util.function.Predicate<TailnetNode> funnel, List<InetAddress> ingress) {
        this.tailnet = tailnet;
        this.challenges = challenges;
        this.owners = owners;
        this.funnel = funnel;
        this.ingress = List.copyOf(ingress);
    }

    @Override
    public List<InetAddress> funnel(String label) {
        if (ingress.isEmpty()) return List.of();
        TailnetNode n = index().byLabel().get(label);
        return n != null && funnel.test(n) ? ingress : List.of();
    }

    @Override
    public Optional<List<InetAddress>> node(String label) {
        TailnetNode n = index().byLabel().get(label);
        if (n == null) return Optional.empty();
        List<InetAddress> out = new ArrayList<>(2);
        if (n.ipv4() != null) out.add(n.ipv4());
        if (n.ipv6() != null) out.add(n.ipv6());
        return Optional.of(out);
    }

    @Override
    public List<String> challenges(String name) {
        return challenges.values(name, tailnet.now(), owners::owns);
    }

    private Index index() {
        List<TailnetNode> now = tailnet.nodes();
        Index i = index;
        if (i.snapshot() == now) return i;
        Map<String, TailnetNode> m = new HashMap<>(now.size() * 2);
        for (TailnetNode n : now) m.put(n.givenName().toLowerCase(Locale.ROOT), n);
        index = i = new Index(now, Map.copyOf(m));
        return i;
    }
}
