package dev.lattice.agent.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.netlink.NetlinkMessage.Ack;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * What the Linux router asks the kernel (netlink requests, shown as the {@code ip} commands they stand for) and the
 * commands it runs, recorded instead of done: tailscaled's layout, by difference, atomic nft.
 */
class LinuxRouterTest {
    /** A command (or a netlink batch, "netlink batch" with its changes' lines as stdin) and its stdin. */
    record Call(String line, String stdin) {}

    static final int ENOENT = 2;
    static final int ESRCH = 3;

    static final class Recorder implements LinuxRouter.Commands, Netlink, Sysctls {
        final List<Call> calls = new ArrayList<>();
        /** Answers per command line; default: success with no output (a delete: no such table). */
        BiFunction<String, String, LinuxRouter.Result> answer = (line, stdin) -> new LinuxRouter.Result(
                line.startsWith("nft delete") ? 2 : 0, "");
        /** The kernel's sysctls; IPv6 on. */
        final Map<String, String> sysctls = new HashMap<>(Map.of("net/ipv6/conf/lattice0/disable_ipv6", "0",
                "net/ipv4/conf/all/src_valid_mark", "0"));
        /** The kernel's answer to one change of a batch; default: done. */
        Function<String, Ack> kernel = change -> new Ack(0, 0, null);
        /** Rules the kernel has, by family and pref (so a delete finds them as the kernel would). */
        final List<String> rules = new ArrayList<>();

        @Override
        public LinuxRouter.Result run(List<String> argv, String stdin) {
            String line = String.join(" ", argv);
            calls.add(new Call(line, stdin));
            return answer.apply(line, stdin);
        }

        @Override
        public String get(String path) {
            calls.add(new Call("sysctl " + path, null));
            return sysctls.get(path);
        }

        @Override
        public void set(String path, String value) throws IOException {
            calls.add(new Call("sysctl -w " + path + "=" + value, null));
            if (!sysctls.containsKey(path)) throw new java.nio.file.NoSuchFileException("/proc/sys/" + path);
            sysctls.put(path, value);
        }

        @Override
        public void linkUp(String dev, int mtu) {
            calls.add(new Call("ip link set dev " + dev + " mtu " + mtu + " up", null));
        }

        @Override
        public int rule(boolean add, boolean v6, LinuxRouter.Rule rule) {
            calls.add(new Call(LinuxRouter.ruleLine(add, v6, rule), null));
            String key = (v6 ? "-6 " : "-4 ") + rule.pref();
            if (add) rules.add(key);
            return add || rules.remove(key) ? 0 : ENOENT;
        }

        @Override
        public int flushTable(boolean v6, int table) {
            calls.add(new Call("ip " + (v6 ? "-6" : "-4") + " route flush table " + table, null));
            return 0;
        }

        @Override
        public List<Ack> apply(List<Change> changes) {
            calls.add(new Call("netlink batch", changes.stream().map(c -> c + "\n").collect(Collectors.joining())));
            return changes.stream().map(c -> kernel.apply(c.toString())).toList();
        }

        @Override
        public void close() {
            calls.add(new Call("netlink close", null));
        }

        List<String> lines() {
            return calls.stream().map(Call::line).toList();
        }

        Call last(String prefix) {
            return calls.reversed().stream().filter(c -> c.line().startsWith(prefix)).findFirst().orElseThrow();
        }
    }

    static List<IpPrefix> p(String... s) {
        return java.util.Arrays.stream(s).map(IpPrefix::parse).toList();
    }

    @Test
    void startingCleansUpFirstThenInstallsTailscalesRulesAndOurTable() throws IOException {
        Recorder r = new Recorder();
        new LinuxRouter("lattice0", 1280, r, r, r);
        List<String> l = r.lines();
        // What a killed daemon may have left goes first: rules (by pref and action), table 52. Its nft table is
        // replaced by the first write, in one transaction, with no process of its own.
        assertThat(l.subList(0, 10)).containsExactly(
                "ip -4 rule del pref 5210 table main", "ip -4 rule del pref 5230 table default",
                "ip -4 rule del pref 5250 type unreachable", "ip -4 rule del pref 5270 table 52", "ip -4 route flush table 52",
                "ip -6 rule del pref 5210 table main", "ip -6 rule del pref 5230 table default",
                "ip -6 rule del pref 5250 type unreachable", "ip -6 rule del pref 5270 table 52", "ip -6 route flush table 52");
        assertThat(l).containsSubsequence("ip link set dev lattice0 mtu 1280 up",
                "ip -4 rule add pref 5210 fwmark 0x80000/0xff0000 table main",
                "ip -4 rule add pref 5230 fwmark 0x80000/0xff0000 table default",
                "ip -4 rule add pref 5250 fwmark 0x80000/0xff0000 type unreachable",
                "ip -4 rule add pref 5270 table 52",
                "sysctl net/ipv6/conf/lattice0/disable_ipv6",
                "ip -6 rule add pref 5210 fwmark 0x80000/0xff0000 table main",
                "ip -6 rule add pref 5270 table 52",
                "sysctl -w net/ipv4/conf/all/src_valid_mark=1",
                "nft -f -");
        assertThat(l).noneMatch(x -> x.contains("route") && x.contains("main") && !x.contains("rule"));
        assertThat(r.calls).as("one process: the table's write").filteredOn(c -> c.line().startsWith("nft")).hasSize(1);
        assertThat(r.last("nft -f").stdin()).isEqualTo(LinuxRouter.nftRuleset("lattice0", RouterConfig.DEFAULT_SNAT));
        assertThat(r.sysctls).containsEntry("net/ipv4/conf/all/src_valid_mark", "1");
    }

    @Test
    void aTableThatCannotBeWrittenIsNotLeftAsAPreviousRunLeftIt() throws IOException {
        Recorder r = new Recorder();
        r.answer = (line, stdin) -> new LinuxRouter.Result(line.startsWith("nft -f") ? 1 : 0,
                line.startsWith("nft -f") ? "Error: Could not process rule: No such file or directory" : "");
        new LinuxRouter("lattice0", 1280, r, r, r);
        assertThat(r.lines()).containsSubsequence("nft -f -", "nft delete table inet lattice");
    }

    @Test
    void aSysctlTheKernelLacksIsNoFailureAndIpv6TurnedOffIsLeftAlone() throws IOException {
        Recorder r = new Recorder();
        r.sysctls.remove("net/ipv4/conf/all/src_valid_mark");
        new LinuxRouter("lattice0", 1280, r, r, r);
        assertThat(r.lines()).contains("sysctl -w net/ipv4/conf/all/src_valid_mark=1", "nft -f -");
        r = new Recorder();
        r.sysctls.put("net/ipv6/conf/lattice0/disable_ipv6", "1");
        new LinuxRouter("lattice0", 1280, r, r, r);
        assertThat(r.lines()).noneMatch(x -> x.startsWith("ip -6 rule add")).contains("ip -4 rule add pref 5270 table 52");
    }

    @Test
    void aProgramIsLookedUpInPathOnceAndAMissingOneExits127() throws IOException {
        assertThat(LinuxRouter.onPath("sh")).as("found in PATH, as a full path").startsWith("/").endsWith("/sh");
        assertThat(LinuxRouter.onPath("/bin/true")).isEqualTo("/bin/true");
        assertThat(LinuxRouter.onPath("lattice-no-such-program")).isNull();
        LinuxRouter.Result missing = LinuxRouter.Commands.local().run(List.of("lattice-no-such-program", "x"), null);
        assertThat(missing.exit()).isEqualTo(127);
        assertThat(missing.output()).contains("lattice-no-such-program");
        LinuxRouter.Result echo = LinuxRouter.Commands.local().run(List.of("cat"), "through stdin\n");
        assertThat(echo).isEqualTo(new LinuxRouter.Result(0, "through stdin\n"));
    }

    @Test
    void aFirstConfigWithTheDefaultSnatIsOnlyANetlinkBatch() throws IOException {
        Recorder r = new Recorder();
        LinuxRouter router = new LinuxRouter("lattice0", 1280, r, r, r);
        int calls = r.calls.size();
        // a process less on the path of a first up: the table written at start already has the default's SNAT
        router.set(new RouterConfig(p("100.64.0.1/32"), p("100.64.0.2/32"), List.of(), List.of(), RouterConfig.DEFAULT_SNAT));
        assertThat(r.calls.subList(calls, r.calls.size())).extracting(Call::line).as("no process").containsExactly("netlink batch");
        router.set(new RouterConfig(p("100.64.0.1/32"), p("100.64.0.2/32"), List.of(), List.of(), !RouterConfig.DEFAULT_SNAT));
        assertThat(r.last("nft -f").stdin()).isEqualTo(LinuxRouter.nftRuleset("lattice0", !RouterConfig.DEFAULT_SNAT));
    }

    @Test
    void theNftTableIsReplacedInOneTransactionAndMasqueradesOnlyWithSnat() {
        String without = LinuxRouter.nftRuleset("lattice0", false);
        assertThat(without).startsWith("table inet lattice {}\ndelete table inet lattice\ntable inet lattice {\n")
                .contains("iifname \"lattice0\" meta mark set meta mark & 0xff00ffff | 0x00040000")
                .contains("iifname != \"lattice0\" ip saddr 100.64.0.0/10 drop")
                .contains("oifname \"lattice0\" ip saddr 100.64.0.0/10 drop")
                .doesNotContain("masquerade");
        assertThat(LinuxRouter.nftRuleset("lattice0", true)).contains("meta mark & 0x00ff0000 == 0x00040000 masquerade");
    }

    @Test
    void changesAreOneBatchByDifference() throws IOException {
        Recorder r = new Recorder();
        LinuxRouter router = new LinuxRouter("lattice0", 1280, r, r, r);
        RouterConfig c1 = new RouterConfig(p("100.64.0.1/32", "fd7a:115c:a1e0::1/128"),
                p("100.64.0.2/32", "fd7a:115c:a1e0::/48", "0.0.0.0/0", "::/0"), p("192.168.1.0/24"), p("10.1.0.0/24"), true);
        router.set(c1);
        Call b = r.last("netlink batch");
        assertThat(b.stdin().lines().toList()).containsExactly(
                "address replace 100.64.0.1/32 dev lattice0",
                "address replace fd7a:115c:a1e0::1/128 dev lattice0 nodad",
                "route replace throw 192.168.1.0/24 table 52",
                "route replace 100.64.0.2/32 dev lattice0 table 52",
                "route replace fd7a:115c:a1e0::/48 dev lattice0 table 52",
                "route replace 0.0.0.0/0 dev lattice0 table 52",
                "route replace ::/0 dev lattice0 table 52");
        assertThat(r.last("nft -f").stdin()).contains("masquerade");
        int calls = r.calls.size();
        router.set(c1);
        assertThat(r.calls).as("the same config again changes nothing").hasSize(calls);

        router.set(new RouterConfig(p("100.64.0.1/32", "fd7a:115c:a1e0::1/128"), p("100.64.0.2/32", "100.64.0.3/32",
                "fd7a:115c:a1e0::/48"), List.of(), p("10.1.0.0/24"), false));
        assertThat(r.last("netlink batch").stdin().lines().toList()).containsExactly(
                "route replace 100.64.0.3/32 dev lattice0 table 52",
                "route del 0.0.0.0/0 dev lattice0 table 52",
                "route del ::/0 dev lattice0 table 52",
                "route del throw 192.168.1.0/24 table 52");
        assertThat(r.last("nft -f").stdin()).as("SNAT off").doesNotContain("masquerade");
        assertThat(router.installedRoutes()).containsExactlyInAnyOrder(p("100.64.0.2/32", "100.64.0.3/32", "fd7a:115c:a1e0::/48")
                .toArray(IpPrefix[]::new));
    }

    @Test
    void aFailedAddIsReportedAndRetriedAMissingDeleteIsNot() throws IOException {
        Recorder r = new Recorder();
        LinuxRouter router = new LinuxRouter("lattice0", 1280, r, r, r);
        router.set(new RouterConfig(p("100.64.0.1/32"), p("100.64.0.2/32", "10.9.0.0/16")));
        r.kernel = change -> change.startsWith("route replace 100.64.0.5/32") ? new Ack(0, 22, "Nexthop has invalid gateway")
                : change.startsWith("route del 10.9.0.0/16") ? new Ack(0, ESRCH, null)
                : new Ack(0, 0, null);
        // The batch: add 100.64.0.4, add 100.64.0.5 (fails), del 100.64.0.2, del 10.9.0.0/16 (already gone: fine).
        assertThatThrownBy(() -> router.set(new RouterConfig(p("100.64.0.1/32"), p("100.64.0.4/32", "100.64.0.5/32"))))
                .isInstanceOf(IOException.class)
                .hasMessage("1 of 4 route/address changes failed; first: route replace 100.64.0.5/32 dev lattice0 table 52:"
                        + " Error: Nexthop has invalid gateway.");
        r.kernel = change -> new Ack(0, 0, null);
        router.set(new RouterConfig(p("100.64.0.1/32"), p("100.64.0.4/32", "100.64.0.5/32")));
        assertThat(r.last("netlink batch").stdin()).as("only the failed add again")
                .isEqualTo("route replace 100.64.0.5/32 dev lattice0 table 52\n");
    }

    @Test
    void withoutIpv6OnTheInterfaceOnlyIpv4IsTouched() throws IOException {
        Recorder r = new Recorder();
        r.sysctls.remove("net/ipv6/conf/lattice0/disable_ipv6"); // a kernel without IPv6
        LinuxRouter router = new LinuxRouter("lattice0", 1280, r, r, r);
        assertThat(r.lines()).noneMatch(l -> l.startsWith("ip -6 rule add"));
        router.set(new RouterConfig(p("100.64.0.1/32", "fd7a:115c:a1e0::1/128"), p("::/0", "0.0.0.0/0")));
        assertThat(r.last("netlink batch").stdin()).doesNotContain("fd7a", "::/0").contains("0.0.0.0/0");
    }

    @Test
    void closingRemovesEverythingItAdded() throws IOException {
        Recorder r = new Recorder();
        LinuxRouter router = new LinuxRouter("lattice0", 1280, r, r, r);
        router.set(new RouterConfig(p("100.64.0.1/32"), p("0.0.0.0/0"), p("192.168.1.0/24"), List.of(), true));
        int before = r.calls.size();
        router.close();
        List<String> after = r.lines().subList(before, r.calls.size());
        assertThat(after).contains("ip -4 rule del pref 5270 table 52", "ip -4 route flush table 52", "nft delete table inet lattice");
        assertThat(after.getLast()).isEqualTo("netlink close");
        router.close();
        assertThat(r.calls).as("closing twice does nothing more").hasSize(before + after.size());
    }
}
