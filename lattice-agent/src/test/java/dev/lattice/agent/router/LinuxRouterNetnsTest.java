package dev.lattice.agent.router;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Link;
import dev.lattice.testlab.Support;
import dev.lattice.wire.ip.IpPrefix;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

            LinuxRouter r = new LinuxRouter("lt0", 1280, in(h));
            r.set(new RouterConfig(p("100.64.0.1/32"), p("100.64.0.2/32", "0.0.0.0/0"), List.of(), p("0.0.0.0/0", "::/0"), true));
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
            LinuxRouter again = new LinuxRouter("lt0", 1280, in(h));
            String after = h.ip("-4", "rule").stdout();
            assertThat(after.lines().filter(x -> x.startsWith("5270:"))).hasSize(1);
            assertThat(h.ip("-4", "route", "show", "table", "52").stdout()).as("stale table 52 flushed").isBlank();
            assertThat(routeGet(h, "198.51.100.1")).as("the host's default route works meanwhile").contains("via 10.9.0.1 dev eth0");

            again.close();
            r.close();
            assertThat(h.ip("-4", "rule").stdout()).doesNotContain("52").doesNotContain("fwmark");
            assertThat(h.ip("-6", "rule").stdout()).doesNotContain("lookup 52");
            assertThat(h.exec("nft", "list", "tables").stdout()).contains("table inet mine").doesNotContain("lattice");
            assertThat(routeGet(h, "198.51.100.1")).contains("via 10.9.0.1 dev eth0");
        }
    }
}
