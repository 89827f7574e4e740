package dev.lattice.agent.router;

import dev.lattice.agent.system.HostEnv;
import dev.lattice.wire.ip.IpPrefix;
import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Whether the kernel will forward what this node offers (tailscale's {@code netutil.CheckIPForwarding}, same
 * decisions and wording): {@code net.ipv4.ip_forward} / {@code net.ipv6.conf.all.forwarding}, and per interface
 * {@code net.ipv4.conf.<if>.forwarding}. Unlike tailscale, a warning always names the sysctls that are off, also
 * when forwarding is off altogether.
 */
public final class IpForwarding {
    static final String KB = "\nSee https://tailscale.com/s/ip-forwarding";

    private IpForwarding() {}

    /**
     * A problem with forwarding {@code routes} (the advertised ones), as the text {@code lattice up} prints and the
     * sysctls that are off; null when all is well or nothing needs forwarding.
     *
     * @throws IOException when the sysctls cannot be read ("Couldn't check system's IP forwarding configuration")
     */
    public static Warning check(List<IpPrefix> routes, HostEnv host) throws IOException {
        List<HostEnv.Interface> ifaces = host.interfaces();
        Set<InetAddress> local = new HashSet<>();
        for (HostEnv.Interface i : ifaces) for (HostEnv.Address a : i.addresses()) local.add(a.ip());
        boolean wantV4 = false, wantV6 = false;
        for (IpPrefix r : routes) {
            // A route to one of this machine's own addresses needs no forwarding.
            if (r.bits() == (r.isIPv4() ? 32 : 128) && local.contains(r.address())) continue;
            if (r.isIPv4()) wantV4 = true;
            else wantV6 = true;
        }
        if (!wantV4 && !wantV6) return null;
        boolean v4 = enabled(host, "net/ipv4/ip_forward");
        boolean v6 = enabled(host, "net/ipv6/conf/all/forwarding");
        if (v4 && v6) return null;
        if (!wantV4) {
            if (!v6) {
                return new Warning("IPv6 forwarding is disabled, subnet routing/exit nodes may not work"
                        + " (sysctl net.ipv6.conf.all.forwarding is 0)." + KB, List.of("net.ipv6.conf.all.forwarding"));
            }
            return null;
        }
        // IPv4 forwarding can be on per interface while off globally; see which interfaces forward.
        List<String> warnings = new ArrayList<>();
        List<String> off = new ArrayList<>();
        if (wantV6 && !v6) {
            warnings.add("IPv6 forwarding is disabled.");
            off.add("net.ipv6.conf.all.forwarding");
        }
        boolean anyEnabled = false;
        List<String> offIfaces = new ArrayList<>();
        for (HostEnv.Interface i : ifaces) {
            if (i.name().equals("lo")) continue;
            if (enabled(host, "net/ipv4/conf/" + i.name() + "/forwarding")) {
                anyEnabled = true;
            } else {
                String key = "net.ipv4.conf." + i.name().replace('.', '/') + ".forwarding";
                warnings.add("Traffic received on " + i.name() + " won't be forwarded (" + key + " disabled)");
                offIfaces.add(key);
            }
        }
        if (!anyEnabled) {
            List<String> all = new ArrayList<>(List.of("net.ipv4.ip_forward"));
            all.addAll(off);
            return new Warning("IP forwarding is disabled, subnet routing/exit nodes will not work (sysctl net.ipv4.ip_forward is 0)."
                    + KB, all);
        }
        if (!warnings.isEmpty()) {
            off.addAll(offIfaces);
            return new Warning(String.join("\n", warnings) + "\nSubnet routes and exit nodes may not work correctly." + KB, off);
        }
        return null;
    }

    private static boolean enabled(HostEnv host, String path) throws IOException {
        String v;
        try {
            v = host.sysctl(path);
        } catch (IOException e) {
            throw new IOException("Couldn't check system's IP forwarding configuration, subnet routing/exit nodes may not work: "
                    + e.getMessage() + KB, e);
        }
        if (v == null) {
            throw new IOException("Couldn't check system's IP forwarding configuration, subnet routing/exit nodes may not work: "
                    + "no sysctl " + path.replace('/', '.') + KB);
        }
        return switch (v.strip()) {
            case "1", "2" -> true; // 2: forwarding with accept_ra overrides (IPv6)
            case "0" -> false;
            default -> throw new IOException("Couldn't check system's IP forwarding configuration: sysctl "
                    + path.replace('/', '.') + " is \"" + v.strip() + "\"" + KB);
        };
    }

    /**
     * @param message what {@code lattice up}/{@code set} print after "Warning: " (tailscale's text, several lines)
     * @param sysctlsOff the sysctls (dotted names) that are 0
     */
    public record Warning(String message, List<String> sysctlsOff) {
        public Warning {
            sysctlsOff = List.copyOf(sysctlsOff);
        }

        /** One line for {@code lattice status}'s health list. */
        public String healthText() {
            return "Subnet routing is enabled, but IP forwarding is disabled. Check that IP forwarding is enabled on your"
                    + " machine (off: " + String.join(", ", sysctlsOff) + ").";
        }
    }
}
