package dev.lattice.control.policy;

import dev.lattice.control.store.NodeTags;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.NetPortRange;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeSet;

/** Nodes, users and a compact text form of filters for the policy tests. */
final class Fixtures {
    private Fixtures() {}

    private static byte[] sha256(String s) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static User user(long id, String name) {
        return new User(id, name, name, name + "@example.com", "", null, null);
    }

    /** Node {@code id} at 100.64.x.y / fd7a:115c:a1e0::id, owned by {@code userId} (null = tag-only), with tags. */
    static TailnetNode node(long id, Long userId, String... tags) {
        // Keys that look random, as real ones do (zero-padded ids all hash alike and turn hash maps into trees).
        String hex = HexFormat.of().formatHex(sha256("node " + id));
        return TailnetNode.builder()
                .id(id)
                .machineKey(MachinePublicKey.fromHex(hex))
                .nodeKey(NodePublicKey.fromHex(hex))
                .hostname("n" + id)
                .givenName("n" + id)
                .userId(userId)
                .addresses((Inet4Address) InetAddress.ofLiteral("100.64." + (id >> 8) + "." + (id & 0xff)),
                        (Inet6Address) InetAddress.ofLiteral("fd7a:115c:a1e0::" + Long.toHexString(id)))
                .tags(NodeTags.of(tags))
                .build();
    }

    /** The node announcing and having approved {@code routes}. */
    static TailnetNode routes(TailnetNode n, String... routes) {
        List<IpPrefix> r = new ArrayList<>();
        for (String route : routes) r.add(IpPrefix.parse(route));
        return n.toBuilder().hostinfo(Hostinfo.empty().withRoutableIps(r)).approvedRoutes(r).build();
    }

    /** {@code src=[..] proto=[..] dst=[ip:ports, ...]} per rule, one string per rule. */
    static List<String> text(List<FilterRule> rules) {
        List<String> out = new ArrayList<>();
        for (FilterRule r : rules) {
            List<String> d = new ArrayList<>();
            for (NetPortRange p : r.dstPorts()) d.add(p.ip() + ":" + ports(p));
            out.add("src=" + r.srcIps() + (r.ipProto() == null ? "" : " proto=" + r.ipProto()) + " dst=" + d);
        }
        return out;
    }

    static String ports(NetPortRange p) {
        int f = p.ports().first(), l = p.ports().last();
        return f == 0 && l == 65535 ? "*" : f == l ? "" + f : f + "-" + l;
    }

    /** Order-free form: one element per (SrcIPs, IPProto, destination) triple. */
    static TreeSet<String> canonical(List<FilterRule> rules) {
        TreeSet<String> out = new TreeSet<>();
        for (FilterRule r : rules) {
            for (NetPortRange p : r.dstPorts()) out.add(r.srcIps() + "|" + r.ipProto() + "|" + p.ip() + ":" + ports(p));
        }
        return out;
    }
}
