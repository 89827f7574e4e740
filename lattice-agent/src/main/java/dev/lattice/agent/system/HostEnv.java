package dev.lattice.agent.system;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.Set;

/** Facts about the host the agent reads rather than changes: its name, its addresses, its environment. */
public interface HostEnv {
    /** The host name a node reports when the user gave none. */
    String hostname();

    /** The host's usable addresses (up, not loopback, not link-local), except those of interface {@code exclude}. */
    Set<InetAddress> addresses(String exclude) throws IOException;

    /** An environment variable, or null. */
    String env(String name);

    /** The running host: /etc/hostname, the kernel's interfaces, the process environment. */
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
            public String env(String name) {
                return System.getenv(name);
            }
        };
    }
}
