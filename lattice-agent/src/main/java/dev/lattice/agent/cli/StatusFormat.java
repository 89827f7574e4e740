package dev.lattice.agent.cli;

import dev.lattice.agent.ipn.PeerStatus;
import dev.lattice.agent.ipn.Status;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** {@code tailscale status}'s text: the state descriptions and the peer table of {@code cli/status.go}. */
final class StatusFormat {
    private StatusFormat() {}

    /** The state line for a backend that is not Running/Starting, or null when it is (then the table is shown). */
    static String notRunningDescription(Status st) {
        if (st.backendState() == null) return "unexpected state: ";
        return switch (st.backendState()) {
            case Running, Starting -> null;
            case Stopped -> "Lattice is stopped.";
            case NeedsLogin -> st.authUrl() == null || st.authUrl().isEmpty()
                    ? "Logged out." : "Logged out.\nLog in at: " + st.authUrl();
            case NeedsMachineAuth -> "Machine is not yet approved by tailnet admin.";
            default -> "unexpected state: " + st.backendState();
        };
    }

    static String table(Status st, boolean self, boolean peers, boolean active, boolean header, Instant now) {
        StringBuilder w = new StringBuilder();
        if (header) w.append("IP\tHostname\tOwner\tOS\tStatus\t\n--\t--------\t-----\t--\t------\t\n");
        if (self && st.self() != null) row(w, st, st.self(), now);
        if (peers && st.peer() != null) {
            for (PeerStatus ps : sortedPeers(st)) {
                if (active && !ps.active()) continue;
                row(w, st, ps, now);
            }
        }
        String out = new TabWriter(0, 2).format(w.toString());
        if (st.health() != null && !st.health().isEmpty()) out += "\n" + health(st);
        return out;
    }

    /**
     * tailscale's {@code printFunnelStatus} (cli/funnel.go), printed after the table: nothing when no AllowFunnel
     * entry is on, else each funneled {@code host:port} as a URL ({@code tcp://} with the port for a TCP forward,
     * {@code https://} with the port unless 443). tailscale ranges over a Go map (any order); ours is sorted.
     */
    static String funnel(dev.lattice.agent.serve.ServeConfig sc) {
        if (!sc.allowFunnel().containsValue(Boolean.TRUE)) return "";
        StringBuilder sb = new StringBuilder("\n# Funnel on:\n");
        sc.allowFunnel().forEach((hp, on) -> {
            if (!Boolean.TRUE.equals(on)) return;
            int colon = hp.lastIndexOf(':');
            String sni = colon < 0 ? hp : hp.substring(0, colon), port = colon < 0 ? "" : hp.substring(colon + 1);
            if (sni.startsWith("[") && sni.endsWith("]")) sni = sni.substring(1, sni.length() - 1);
            int p;
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                p = 0;
            }
            dev.lattice.agent.serve.ServeConfig.TcpPortHandler h = sc.tcp().get(p);
            boolean tcp = h != null && h.tcpForward() != null && !h.tcpForward().isEmpty();
            String url = (tcp ? "tcp://" : "https://") + sni + (tcp || p != 443 ? ":" + port : "");
            sb.append("#     - ").append(url).append('\n');
        });
        return sb.append('\n').toString();
    }

    /** What tailscale prints when the serve config cannot be read. */
    static String funnelUnknown(String error) {
        return "\n# Funnel:\n#     - Unable to get Funnel status: " + error + "\n";
    }

    static String health(Status st) {
        StringBuilder sb = new StringBuilder("# Health check:\n");
        for (String m : st.health()) sb.append("#     - ").append(m).append('\n');
        return sb.toString();
    }

    /** ipnstate.SortPeers: by DNS name, host name, first IP, then key. */
    static List<PeerStatus> sortedPeers(Status st) {
        List<PeerStatus> l = new ArrayList<>(st.peer().values());
        l.sort(Comparator.comparing((PeerStatus p) -> nz(p.dnsName()))
                .thenComparing(p -> nz(p.hostName()))
                .thenComparing(p -> IpOrder.key(firstIp(p)))
                .thenComparing(p -> nz(p.publicKey())));
        return l;
    }

    private static void row(StringBuilder w, Status st, PeerStatus ps, Instant now) {
        w.append(firstIp(ps)).append('\t').append(dnsOrQuoteHostname(st, ps)).append('\t')
                .append(ownerLogin(st, ps)).append('\t').append(nz(ps.os())).append('\t');
        boolean anyTraffic = ps.txBytes() != 0 || ps.rxBytes() != 0;
        String offline = ps.online() ? "" : "; offline" + lastSeen(ps.lastSeen(), now);
        if (!ps.active()) {
            if (ps.exitNode()) w.append("idle; exit node").append(offline);
            else if (ps.exitNodeOption()) w.append("idle; offers exit node").append(offline);
            else if (anyTraffic) w.append("idle").append(offline);
            else if (!ps.online()) w.append("offline").append(lastSeen(ps.lastSeen(), now));
            else w.append('-');
        } else {
            w.append("active; ");
            if (ps.exitNode()) w.append("exit node; ");
            else if (ps.exitNodeOption()) w.append("offers exit node; ");
            String relay = nz(ps.relay());
            String cur = nz(ps.curAddr());
            if (!relay.isEmpty() && cur.isEmpty()) w.append("relay \"").append(relay).append('"');
            else if (!cur.isEmpty()) w.append("direct ").append(cur);
            if (!ps.online()) w.append(offline);
        }
        if (anyTraffic) w.append(", tx ").append(ps.txBytes()).append(" rx ").append(ps.rxBytes());
        w.append("\t\n");
    }

    /** {@code tailscale exit-node list}: the exit nodes (no location data here) by DNS name, and the hints. */
    static String exitNodeList(List<PeerStatus> exits, Instant now) {
        List<PeerStatus> l = new ArrayList<>(exits);
        l.sort(Comparator.comparing((PeerStatus p) -> nz(p.dnsName())));
        StringBuilder w = new StringBuilder("\n IP\tHOSTNAME\tCOUNTRY\tCITY\tSTATUS\t");
        for (PeerStatus p : l) {
            w.append("\n ").append(firstIp(p)).append('\t').append(trimDots(nz(p.dnsName()))).append("\t-\t-\t")
                    .append(exitNodeState(p, now)).append('\t');
        }
        w.append("\n\n");
        w.append("# To view the complete list of exit nodes for a country, use `lattice exit-node list --filter=` followed by the country name.\n");
        w.append("# To use an exit node, use `lattice set --exit-node=` followed by the IP or hostname.\n");
        return new TabWriter(10, 5).format(w.toString());
    }

    /** exitnode.go's peerStatus (an inactive selected node reads "selected but offline", as there). */
    static String exitNodeState(PeerStatus p, Instant now) {
        if (!p.active()) {
            String seen = lastSeen(p.lastSeen(), now);
            if (p.exitNode()) return "selected but offline" + seen;
            if (!p.online()) return "offline" + seen;
        }
        return p.exitNode() ? "selected" : "-";
    }

    private static String trimDots(String s) {
        int a = 0, b = s.length();
        while (a < b && s.charAt(a) == '.') a++;
        while (b > a && s.charAt(b - 1) == '.') b--;
        return s.substring(a, b);
    }

    static String firstIp(PeerStatus ps) {
        return ps.tailscaleIps() == null || ps.tailscaleIps().isEmpty() ? "" : ps.tailscaleIps().getFirst();
    }

    /** The MagicDNS name without the tailnet suffix, or the sanitized host name in ("quotes"). */
    static String dnsOrQuoteHostname(Status st, PeerStatus ps) {
        String base = trimSuffix(nz(ps.dnsName()), nz(st.magicDnsSuffix()));
        if (!base.isEmpty()) return base;
        return "(\"" + sanitizeHostname(nz(ps.hostName())) + "\")";
    }

    /** The owner's login up to and including '@', "-" for none, the bare id when the profile is missing. */
    static String ownerLogin(Status st, PeerStatus ps) {
        if (ps.userId() == 0) return "-";
        Status.UserProfileJson u = st.user() == null ? null : st.user().get(Long.toString(ps.userId()));
        if (u == null) return Long.toString(ps.userId());
        String login = nz(u.loginName());
        int at = login.indexOf('@');
        return at >= 0 ? login.substring(0, at + 1) : login;
    }

    static String lastSeen(Instant t, Instant now) {
        if (Tailcfg.isZero(t)) return "";
        Duration d = Duration.between(t, now);
        if (d.compareTo(Duration.ofMinutes(1)) < 0) d = Duration.ofMinutes(1);
        if (d.compareTo(Duration.ofHours(1)) < 0) return ", last seen " + d.toMinutes() + "m ago";
        if (d.compareTo(Duration.ofDays(1)) < 0) return ", last seen " + d.toHours() + "h ago";
        return ", last seen " + d.toHours() / 24 + "d ago";
    }

    /** dnsname.TrimSuffix: drops the suffix when name ends with it as whole labels, and any trailing dot. */
    static String trimSuffix(String name, String suffix) {
        String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        String s = suffix.endsWith(".") ? suffix.substring(0, suffix.length() - 1) : suffix;
        if (s.startsWith(".")) s = s.substring(1);
        if (!s.isEmpty() && n.length() > s.length() && n.endsWith(s) && n.charAt(n.length() - s.length() - 1) == '.') {
            n = n.substring(0, n.length() - s.length());
        }
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    /** dnsname.SanitizeHostname: common LAN suffixes dropped, then a valid lower-case DNS label. */
    static String sanitizeHostname(String h) {
        for (String suf : new String[] {".local", ".localdomain", ".lan"}) {
            if (h.endsWith(suf)) h = h.substring(0, h.length() - suf.length());
        }
        int start = 0;
        int end = Math.min(h.length(), 63);
        while (start < end && !alnum(h.charAt(start))) start++;
        while (start < end && !alnum(h.charAt(end - 1))) end--;
        StringBuilder sb = new StringBuilder();
        for (int i = start; i < end; i++) {
            char c = h.charAt(i);
            boolean boundary = i == start || i == end - 1;
            if (!boundary && (c == ' ' || c == '.' || c == '@' || c == '_')) sb.append('-');
            else if (alnum(c) || c == '-') sb.append(Character.toLowerCase(c));
        }
        return sb.toString();
    }

    private static boolean alnum(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9';
    }

    static String nz(String s) {
        return s == null ? "" : s;
    }

    /** netip.Addr order: IPv4 before IPv6, then by bytes; unparsable text last, by text. */
    static final class IpOrder {
        private IpOrder() {}

        static String key(String ip) {
            if (ip.isEmpty()) return "";
            try {
                if (!ip.matches("[0-9a-fA-F:.]+")) return "9" + ip; // never a DNS lookup
                byte[] b = java.net.InetAddress.getByName(ip).getAddress();
                StringBuilder sb = new StringBuilder(b.length == 4 ? "4" : "6");
                for (byte x : b) sb.append(String.format(Locale.ROOT, "%02x", x & 0xff));
                return sb.toString();
            } catch (java.net.UnknownHostException e) {
                return "9" + ip;
            }
        }
    }
}
