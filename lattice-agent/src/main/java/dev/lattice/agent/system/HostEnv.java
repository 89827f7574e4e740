package dev.lattice.agent.system;

import dev.lattice.agent.router.Sysctls;
import dev.lattice.wire.ip.IpPrefix;
import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Facts about the host the agent reads rather than changes: its name, its addresses, its environment. */
public interface HostEnv {
    /** The host name a node reports when the user gave none. */
    String hostname();

    /** The host's usable addresses (up, not loopback, not link-local), except those of interface {@code exclude}. */
    Set<InetAddress> addresses(String exclude) throws IOException;

    /** An environment variable, or null. */
    String env(String name);

    /**
     * The interfaces that are up, each with its addresses and their subnets ({@code 192.168.1.5/24}); what exit-node
     * routing keeps direct or sends through the tunnel, and what the IP forwarding check looks at.
     */
    default List<Interface> interfaces() throws IOException {
        return List.of();
    }

    /**
     * A sysctl's value by its path under /proc/sys ({@code net/ipv4/ip_forward}, {@code net/ipv4/conf/eth0.5/forwarding}:
     * slashes, so interface names may hold dots), or null when the host has no such key.
     */
    default String sysctl(String path) throws IOException {
        return null;
    }

    /** One network interface: its name, whether it is loopback, and its addresses with their prefix lengths. */
    record Interface(String name, boolean loopback, List<Address> addresses) {
        public Interface {
            addresses = List.copyOf(addresses);
        }
    }

    /** An interface address and the length of its subnet ({@code 192.168.1.5} and 24). */
    record Address(InetAddress ip, int bits) {
        /** {@code 192.168.1.5/24} as text. */
        public static Address parse(String text) {
            int slash = text.indexOf('/');
            return new Address(IpPrefix.parseAddress(text.substring(0, slash)), Integer.parseInt(text.substring(slash + 1)));
        }

        /** The subnet ({@code 192.168.1.0/24}). */
        public IpPrefix prefix() {
            return new IpPrefix(ip, bits);
        }

        /** Whether this is a single address, not a subnet (/32, /128). */
        public boolean isSingleIp() {
            return bits == ip.getAddress().length * 8;
        }
    }

    /** The running host: /etc/hostname, the kernel's interfaces, the process environment, /proc/sys. */
    static HostEnv system() {
        return new HostEnv() {
            @Override
            public String hostname() {
                try {
                    String h = Files.readString(Path.of("/etc/hostname")).strip();
                    if (!h.isEmpty()) return h;
                } catch (IOException e) {
                    // fall through
                }
                try {
                    return InetAddress.getLocalHost().getHostName();
                } catch (IOException e) {
                    return "lattice-node";
                }
            }

            @Override
            public Set<InetAddress> addresses(String exclude) throws IOException {
                Set<InetAddress> out = new HashSet<>();
                var ifs = NetworkInterface.getNetworkInterfaces();
                while (ifs != null && ifs.hasMoreElements()) {
                    var nif = ifs.nextElement();
                    if (!nif.isUp() || nif.isLoopback() || nif.getName().equals(exclude)) continue;
                    for (var a : Collections.list(nif.getInetAddresses())) {
                        if (!a.isLinkLocalAddress()) out.add(a);
                    }
                }
                return out;
            }

            @Override
            public List<Interface> interfaces() throws IOException {
                List<Interface> out = new ArrayList<>();
                var ifs = NetworkInterface.getNetworkInterfaces();
                while (ifs != null && ifs.hasMoreElements()) {
                    var nif = ifs.nextElement();
                    if (!nif.isUp()) continue;
                    List<Address> addrs = new ArrayList<>();
                    for (var ia : nif.getInterfaceAddresses()) {
                        InetAddress a = ia.getAddress();
                        if (a == null) continue;
                        // Without the scope (fe80::1%eth0): addresses compare by their bytes.
                        addrs.add(new Address(InetAddress.getByAddress(a.getAddress()), ia.getNetworkPrefixLength()));
                    }
                    out.add(new Interface(nif.getName(), nif.isLoopback(), addrs));
                }
                return out;
            }

            @Override
            public String sysctl(String path) throws IOException {
                return Sysctls.PROC_SYS.get(path);
            }

            @Override
            public String env(String name) {
                return System.getenv(name);
            }
        };
    }
}
