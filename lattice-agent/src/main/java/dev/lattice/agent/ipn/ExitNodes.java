package dev.lattice.agent.ipn;

import dev.lattice.wire.ip.IpPrefix;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * {@code --exit-node=<ip|name>} to the exit node's tailnet address, refused with tailscale's messages
 * ({@code ipn.exitNodeIPOfArg}): by address, it must not be ours and, while running, must be a peer that offers
 * to be an exit node; by MagicDNS name (base name, or the full name with or without the dot), exactly one peer must
 * match and offer.
 */
public final class ExitNodes {
    private ExitNodes() {}

    /** @throws IllegalArgumentException with tailscale's message */
    public static String ipOfArg(String arg, Status st) {
        if (arg == null || arg.isEmpty()) throw new IllegalArgumentException("invalid argument");
        InetAddress ip = literal(arg);
        if (ip != null) {
            String text = IpPrefix.format(ip);
            if (st.tailscaleIps() != null && st.tailscaleIps().contains(text)) throw localIp(arg);
            if (st.backendState() == BackendState.Running) {
                PeerStatus ps = peerWithIp(st, text);
                if (ps == null) throw new IllegalArgumentException("no node found in netmap with IP " + text);
                if (!ps.exitNodeOption()) throw new IllegalArgumentException("node " + text + " is not advertising an exit node");
            }
            return text;
        }
        if (st.peer() == null || st.peer().isEmpty()) {
            throw new IllegalArgumentException("cannot resolve exit node by hostname while Lattice is starting up; "
                    + "please use its Lattice IP address instead");
        }
        String suffix = st.magicDnsSuffix() == null ? "" : st.magicDnsSuffix();
        int match = 0;
        String found = null;
        List<PeerStatus> peers = new ArrayList<>(st.peer().values());
        peers.sort(Comparator.comparing(p -> p.dnsName() == null ? "" : p.dnsName()));
        for (PeerStatus ps : peers) {
            String fqdn = ps.dnsName() == null ? "" : ps.dnsName();
            String base = trimSuffix(trimSuffix(fqdn, "."), trimSuffix(suffix, "."));
            String sansDot = trimSuffix(fqdn, ".");
            if (!arg.equalsIgnoreCase(base) && !arg.equalsIgnoreCase(fqdn) && !arg.equalsIgnoreCase(sansDot)) continue;
            match++;
            if (ps.tailscaleIps() == null || ps.tailscaleIps().isEmpty()) {
                throw new IllegalArgumentException("node \"" + arg + "\" has no Lattice IP?");
            }
            if (!ps.exitNodeOption()) throw new IllegalArgumentException("node \"" + arg + "\" is not advertising an exit node");
            found = ps.tailscaleIps().getFirst();
        }
        return switch (match) {
            case 0 -> throw new IllegalArgumentException("invalid value \"" + arg + "\" for --exit-node; must be IP or peer hostname");
            case 1 -> {
                if (st.tailscaleIps() != null && st.tailscaleIps().contains(found)) throw localIp(arg);
                yield found;
            }
            default -> throw new IllegalArgumentException("ambiguous exit node name \"" + arg + "\"");
        };
    }

    /** The message the CLI gives when the exit node asked for is this machine. */
    static IllegalArgumentException localIp(String hostOrIp) {
        return new IllegalArgumentException("cannot use " + hostOrIp + " as an exit node as it is a local IP address to this machine; "
                + "did you mean --advertise-exit-node?");
    }

    static PeerStatus peerWithIp(Status st, String ip) {
        if (st.peer() == null) return null;
        for (PeerStatus ps : st.peer().values()) {
            if (ps.tailscaleIps() != null && ps.tailscaleIps().contains(ip)) return ps;
        }
        return null;
    }

    private static InetAddress literal(String s) {
        if (!s.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) return null;
        try {
            return IpPrefix.parseAddress(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** dnsname.TrimSuffix: {@code name} without {@code suffix} when it ends with it after a dot. */
    private static String trimSuffix(String name, String suffix) {
        if (suffix.isEmpty()) return name;
        if (suffix.equals(".")) return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        String n = name.toLowerCase(Locale.ROOT), s = suffix.toLowerCase(Locale.ROOT);
        if (n.endsWith("." + s)) return name.substring(0, name.length() - s.length() - 1);
        return name;
    }
}
