package dev.lattice.dist;

import dev.lattice.wireguard.conn.UdpSocket;
import dev.lattice.wireguard.device.Clock;
import dev.lattice.wireguard.device.Device;
import dev.lattice.wireguard.device.DeviceUapi;
import dev.lattice.wireguard.tun.LinuxTun;
import dev.lattice.wireguard.uapi.UapiServer;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code lattice-wg [-f|--foreground] IFNAME}: a drop-in for {@code wireguard-go IFNAME}. Creates the TUN
 * interface, serves the UAPI on /var/run/wireguard/IFNAME.sock for the {@code wg} tool, and runs until the
 * interface is deleted or the process is signalled. Without -f it detaches like wireguard-go and returns once
 * the interface and socket are ready.
 */
final class WgCommand {
    private static final String CHILD_ENV = "LATTICE_WG_DAEMON_CHILD";

    private WgCommand() {}

    static int run(String[] args) throws Exception {
        boolean foreground = "1".equals(System.getenv("WG_PROCESS_FOREGROUND")) || System.getenv(CHILD_ENV) != null;
        String ifname = null;
        for (String a : args) {
            switch (a) {
                case "-f", "--foreground" -> foreground = true;
                case "--version" -> {
                    System.out.println("lattice-wg " + Version.get() + " (userspace WireGuard, wireguard-go compatible UAPI)");
                    return 0;
                }
                case "-h", "--help" -> {
                    usage();
                    return 0;
                }
                default -> {
                    if (a.startsWith("-") || ifname != null) {
                        usage();
                        return 2;
                    }
                    ifname = a;
                }
            }
        }
        if (ifname == null) {
            usage();
            return 2;
        }
        if (ifname.isEmpty() || ifname.length() > 15 || !ifname.matches("[A-Za-z0-9_.=+-]+")) {
            System.err.println("lattice-wg: invalid interface name: " + ifname);
            return 2;
        }
        return foreground ? runForeground(ifname) : daemonize(ifname, args);
    }

    private static void usage() {
        System.err.println("Usage: lattice-wg [-f/--foreground] INTERFACE-NAME");
    }

    private static int runForeground(String ifname) throws Exception {
        LinuxTun tun;
        try {
            // TUN offloads (TSO super-packets, UDP GSO/GRO) unless LATTICE_WG_OFFLOAD=0.
            tun = LinuxTun.open(ifname, Device.DEFAULT_MTU, !"0".equals(System.getenv("LATTICE_WG_OFFLOAD")));
        } catch (Exception e) {
            System.err.println("lattice-wg: failed to create TUN device " + ifname + ": " + e.getMessage());
            return 1;
        }
        Device device = new Device(tun, UdpSocket::open, Clock.SYSTEM);
        UapiServer uapi;
        try {
            device.start();
            uapi = UapiServer.start(ifname, new DeviceUapi(device));
        } catch (Exception e) {
            System.err.println("lattice-wg: failed to start " + ifname + ": " + e.getMessage());
            device.close();
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            uapi.close();
            device.close();
        }, "lattice-wg-shutdown"));
        device.terminated().join();
        uapi.close();
        device.close();
        return 0;
    }

    /** Starts a detached copy of ourselves in the foreground mode and waits until its UAPI socket is up. */
    private static int daemonize(String ifname, String[] args) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        String jar = new File(WgCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getPath();
        List<String> cmd = new ArrayList<>();
        if (new File("/usr/bin/setsid").canExecute()) cmd.add("/usr/bin/setsid");
        cmd.add(java);
        cmd.addAll(ProcessHandle.current().info().arguments().map(a -> jvmOptions(a)).orElse(List.of()));
        cmd.addAll(List.of("-jar", jar, "wg", "-f", ifname));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put(CHILD_ENV, "1");
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process child = pb.start();
        Path sock = UapiServer.socketPath(ifname);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) {
                System.err.println("lattice-wg: daemon exited with status " + child.exitValue()
                        + "; run with -f to see why");
                return 1;
            }
            if (Files.exists(sock)) return 0;
            Thread.sleep(50);
        }
        System.err.println("lattice-wg: timed out waiting for " + sock);
        return 1;
    }

    /** JVM options of this process, up to the "-jar" argument. */
    private static List<String> jvmOptions(String[] args) {
        List<String> out = new ArrayList<>();
        for (String a : args) {
            if (a.equals("-jar")) break;
            out.add(a);
        }
        return out;
    }
}
