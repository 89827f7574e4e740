package dev.lattice.agent.router;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Link;
import dev.lattice.testlab.Support;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.netlink.NetlinkMessage.Ack;
import dev.lattice.wireguard.sys.Libc;
import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Linux router against a real kernel, in a lab namespace: host {@code h} (10.9.0.2/24, default route via
 * {@code gw} 10.9.0.1) with a TUN {@code lt0} nobody reads. What only the kernel can show: the policy rules send
 * everything into the tunnel's table except marked packets; throw routes keep a LAN direct; a restart after a crash
 * leaves one set of rules; closing leaves the host as it was, the user's own nftables table included.
 */
@Tag("netns")
@Timeout(120)
class LinuxRouterNetnsTest {
    @BeforeAll
    static void needsLab() {
        Support s = Lab.support("nft", "ping");
        Assumptions.assumeTrue(s.available(), () -> "netns lab unavailable, skipped: " + s.reason());
    }

    private static final int CLONE_NEWNET = 0x40000000;
    private static final MethodHandle SETNS = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("setns").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    /**
     * What {@code what} returns when run on a thread of its own that enters {@code h}'s namespace and ends: a socket
     * stays in the namespace it was made in, and /proc/sys/net shows the opening thread's namespace. The test's other
     * threads never leave theirs.
     */
    static <T> T inNetns(Host h, Callable<T> what) throws IOException {
        CompletableFuture<T> done = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().name("netns-" + h.netns()).start(() -> {
            try {
                int ns = Libc.open("/run/netns/" + h.netns(), Libc.O_CLOEXEC);
                int r = (int) SETNS.invokeExact(ns, CLONE_NEWNET);
                Libc.close(ns);
                if (r != 0) throw new IllegalStateException("setns into " + h.netns() + " failed");
                done.complete(what.call());
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        });
        try {
            t.join();
            return done.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    /** A netlink socket in {@code h}'s namespace. */
    static NetlinkSocket netlinkIn(Host h) throws IOException {
        return inNetns(h, NetlinkSocket::open);
    }

    /** The sysctls of {@code h}'s namespace, read and written by the router's own code ({@link Sysctls#PROC_SYS}). */
    static Sysctls sysctlsIn(Host h) {
        return new Sysctls() {
            @Override
            public String get(String path) throws IOException {
                return inNetns(h, () -> Sysctls.PROC_SYS.get(path));
            }

            @Override
            public void set(String path, String value) throws IOException {
                inNetns(h, () -> {
                    Sysctls.PROC_SYS.set(path, value);
                    return null;
                });
            }
        };
    }

    /** Runs the router's commands in {@code h}'s namespace. */
    static LinuxRouter.Commands in(Host h) {
        return (argv, stdin) -> {
            List<String> cmd = new ArrayList<>(h.prefix());
            cmd.addAll(argv);
            ExecResult r = dev.lattice.testlab.Exec.run(Duration.ofSeconds(30), stdin, Map.of(), cmd);
            return new LinuxRouter.Result(r.exitCode(), r.stdout() + r.stderr());
        };
    }

    static List<IpPrefix> p(String... s) {
        return java.util.Arrays.stream(s).map(IpPrefix::parse).toList();
    }

    static String routeGet(Host h, String... args) {
        List<String> a = new ArrayList<>(List.of("route", "get"));
        a.addAll(List.of(args));
        return h.ip(a.toArray(String[]::new)).stdout();
    }

    @Test
    void theKernelsRefusalsComeBackWithItsOwnWords() throws Exception {
        try (Lab lab = new Lab()) {
            Host h = lab.host("h");
            NetlinkSocket nl = netlinkIn(h);
            h.execChecked("ip", "tuntap", "add", "lt1", "mode", "tun"); // down
            List<Ack> acks = nl.apply(List.of(
                    new Netlink.Change(Netlink.Change.Kind.ROUTE, true, IpPrefix.parse("10.7.0.0/16"), "lt1", 52),
                    new Netlink.Change(Netlink.Change.Kind.ROUTE, false, IpPrefix.parse("10.8.0.0/16"), "lt1", 52),
                    new Netlink.Change(Netlink.Change.Kind.ADDRESS, true, IpPrefix.parse("100.64.0.9/32"), "lt1", 52)));
            assertThat(acks.get(0).errno()).as("a route through a link that is down").isEqualTo(100); // ENETDOWN
            String ipSays = h.exec("ip", "route", "add", "10.7.0.0/16", "dev", "lt1", "table", "52").stderr().strip();
            assertThat(NetlinkSocket.describe(acks.get(0))).as("what ip says to the same").isEqualTo(ipSays).startsWith("Error: ");
            assertThat(acks.get(1).errno()).as("a route that is not there").isEqualTo(3); // ESRCH
            assertThat(acks.get(2).ok()).isTrue();
            assertThat(h.ip("-4", "addr", "show", "dev", "lt1").stdout()).contains("inet 100.64.0.9/32");
            // The link made again under its name, with a new index: the first change finds no device, the next one
            // the new link.
            h.execChecked("ip", "link", "del", "lt1");
            h.execChecked("ip", "tuntap", "add", "lt1", "mode", "tun");
            List<Netlink.Change> again = List.of(new Netlink.Change(Netlink.Change.Kind.ADDRESS, true, IpPrefix.parse("100.64.0.10/32"), "lt1", 52));
            assertThat(nl.apply(again).getFirst().errno()).as("the old index").isEqualTo(19); // ENODEV
            assertThat(nl.apply(again).getFirst().ok()).as("the new one, asked again").isTrue();
            assertThat(h.ip("-4", "addr", "show", "dev", "lt1").stdout()).contains("inet 100.64.0.10/32");
            assertThatThrownBy(() -> nl.linkUp("nosuch0", 1280)).isInstanceOf(java.io.IOException.class)
                    .hasMessageStartingWith("no link nosuch0 failed: ");
            nl.close();
        }
    }

    @Test
    void exitRoutesTakeTheHostsTrafficButNotTheDaemonsAndCloseLeavesNothing() throws Exception {
        try (Lab lab = new Lab()) {
            Host h = lab.host("h");
            Host gw = lab.host("gw");
            Link l = lab.link(h, gw);
            h.addAddress(l.aDev(), "10.9.0.2/24").defaultRoute("10.9.0.1");
            gw.addAddress(l.bDev(), "10.9.0.1/24");
            h.execChecked("ip", "tuntap", "add", "lt0", "mode", "tun");
            // The user's own firewall, which must survive us.
            h.nft("table inet mine {\n  chain c {\n    type filter hook input priority 10; policy accept;\n  }\n}\n");

            LinuxRouter r = new LinuxRouter("lt0", 1280, netlinkIn(h), in(h), sysctlsIn(h));
            r.set(new RouterConfig(p("100.64.0.1/32"), p("100.64.0.2/32", "0.0.0.0/0"), List.of(), p("0.0.0.0/0", "::/0"), true));
            assertThat(h.exec("sysctl", "-n", "net.ipv4.conf.all.src_valid_mark").stdout().strip())
                    .as("set in the namespace's /proc/sys").isEqualTo("1");
            assertThat(h.ip("-6", "rule").stdout()).as("IPv6 on lt0, read in the namespace's /proc/sys")
                    .contains("5270:\tfrom all lookup 52");
            String rules = h.ip("-4", "rule").stdout();
            assertThat(rules).contains("5210:\tfrom all fwmark 0x80000/0xff0000 lookup main",
                    "5230:\tfrom all fwmark 0x80000/0xff0000 lookup default", "5250:\tfrom all fwmark 0x80000/0xff0000 unreachable",
                    "5270:\tfrom all lookup 52");
            assertThat(routeGet(h, "198.51.100.1")).as("the host's traffic: into the tunnel").contains("dev lt0").contains("table 52");
            assertThat(routeGet(h, "10.9.0.1")).as("its LAN too (no LAN access)").contains("dev lt0");
            assertThat(routeGet(h, "198.51.100.1", "mark", "0x80000")).as("the daemon's own packets: the main table")
                    .contains("via 10.9.0.1 dev eth0");
            assertThat(h.ping("10.9.0.1", 1, Duration.ofSeconds(1)).anyReceived()).as("unmarked ping: lost in the tunnel").isFalse();
            assertThat(h.exec("ping", "-c", "1", "-W", "1", "-m", "524288", "10.9.0.1").ok()).as("marked ping: direct").isTrue();
            assertThat(h.exec("nft", "list", "table", "inet", "lattice").stdout()).contains("masquerade");

            // LAN access: a throw route sends the LAN back to the main table.
            r.set(new RouterConfig(p("100.64.0.1/32"), p("100.64.0.2/32", "0.0.0.0/0"), p("10.9.0.0/24"), List.of(), false));
            assertThat(routeGet(h, "10.9.0.1")).contains("dev eth0");
            assertThat(h.ping("10.9.0.1", 1, Duration.ofSeconds(1)).anyReceived()).isTrue();
            assertThat(h.exec("nft", "list", "table", "inet", "lattice").stdout()).doesNotContain("masquerade");

            // A restart after kill -9 (no close): the new router cleans up first, so one set of rules, no stale routes.
            LinuxRouter again = new LinuxRouter("lt0", 1280, netlinkIn(h), in(h), sysctlsIn(h));
            String after = h.ip("-4", "rule").stdout();
            assertThat(after.lines().filter(x -> x.startsWith("5270:"))).hasSize(1);
            assertThat(h.ip("-4", "route", "show", "table", "52").stdout()).as("stale table 52 flushed").isBlank();
            assertThat(routeGet(h, "198.51.100.1")).as("the host's default route works meanwhile").contains("via 10.9.0.1 dev eth0");

            // Many routes at once: more requests than one datagram carries; all of them land, and leave again.
            List<IpPrefix> many = new ArrayList<>(p("100.64.0.2/32"));
            for (int i = 0; i < 300; i++) many.add(IpPrefix.parse("10.200." + (i / 200) + "." + (i % 200) + "/32"));
            again.set(new RouterConfig(p("100.64.0.1/32"), many));
            assertThat(h.ip("-4", "route", "show", "table", "52").stdout().lines()).hasSize(301);
            assertThat(h.ip("-4", "addr", "show", "dev", "lt0").stdout()).contains("inet 100.64.0.1/32");
            again.set(new RouterConfig(p("100.64.0.1/32"), p("100.64.0.2/32")));
            assertThat(h.ip("-4", "route", "show", "table", "52").stdout().lines()).hasSize(1);

            again.close();
            r.close();
            assertThat(h.ip("-4", "rule").stdout()).doesNotContain("52").doesNotContain("fwmark");
            assertThat(h.ip("-6", "rule").stdout()).doesNotContain("lookup 52");
            assertThat(h.exec("nft", "list", "tables").stdout()).contains("table inet mine").doesNotContain("lattice");
            assertThat(routeGet(h, "198.51.100.1")).contains("via 10.9.0.1 dev eth0");
        }
    }
}
