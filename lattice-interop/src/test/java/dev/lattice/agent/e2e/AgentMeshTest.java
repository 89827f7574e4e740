package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * latticed hosts on one LAN (network namespaces on a bridge) joined to lattice-control: join with a pre-auth key,
 * ping by address and by MagicDNS name, a late joiner becomes reachable without restarts, a daemon restart keeps the
 * node's addresses, and established tunnels survive the control server going away.
 */
@Tag("netns")
@Timeout(420)
class AgentMeshTest {

    @Test
    void latticedHostsJoinPingByAddressAndNameSurviveRestartsAndControlOutage() throws Exception {
        TailnetNode.Binaries bins = TailnetNode.lattice();
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl");
            lan.connect(ctl);
            ctl.addAddress("eth0", "10.78.0.1/24");
            List<Host> hosts = new ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                Host h = lab.host("h" + i);
                lan.connect(h);
                h.addAddress("eth0", "10.78.0." + (10 + i) + "/24");
                h.resolvConf("nameserver 10.78.0.1\n");
                hosts.add(h);
            }
            ControlServerProcess server = ControlServerProcess.start(ctl, "10.78.0.1", lab.workDir().resolve("ctl"), "");
            List<TailnetNode> nodes = new ArrayList<>();
            try {
                server.admin("users", "create", "alice");
                String key = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--expiration", "1h");
                TailnetNode a = joined(bins, hosts.get(0), lab, server, key, "h1", "--accept-dns=true");
                nodes.add(a);
                TailnetNode b = joined(bins, hosts.get(1), lab, server, key, "h2", "--accept-dns=true");
                nodes.add(b);
                a.await("h2 in h1's status", Duration.ofSeconds(20), n -> n.peerHostNames().contains("h2"));
                b.await("h1 in h2's status", Duration.ofSeconds(20), n -> n.peerHostNames().contains("h1"));
                String ipA = a.ipv4(), ipB = b.ipv4();
                assertThat(a.status().path("MagicDNSSuffix").asString()).as("MagicDNS suffix from our node name").isEqualTo("tailnet.test");
                assertThat(ipA).startsWith("100.");
                assertThat(ipB).startsWith("100.").isNotEqualTo(ipA);

                // Direct on a LAN, both ways, by disco ping; then real ICMP through the tunnel, by address and by name.
                System.out.println("[e2e] h1 -> h2: " + a.awaitDirect(ipB, Duration.ofSeconds(20)));
                System.out.println("[e2e] h2 -> h1: " + b.awaitDirect(ipA, Duration.ofSeconds(20)));
                assertThat(TailnetNode.icmp(hosts.get(0), ipB, Duration.ofSeconds(15))).as("ICMP h1 -> h2 over the tailnet").isTrue();
                assertThat(TailnetNode.icmp(hosts.get(1), ipA, Duration.ofSeconds(15))).as("ICMP h2 -> h1").isTrue();
                ExecResult byName = hosts.get(0).exec(Duration.ofSeconds(15), "ping", "-c", "2", "-W", "2", "h2");
                assertThat(byName.ok()).as(() -> "ping h2 by MagicDNS name:\n" + byName.describe() + "\nresolv.conf: "
                        + hosts.get(0).exec("cat", "/etc/resolv.conf").stdout()).isTrue();
                assertThat(byName.stdout()).contains(ipB);
                ExecResult fqdn = hosts.get(1).exec(Duration.ofSeconds(15), "ping", "-c", "1", "-W", "2", "h1.tailnet.test");
                assertThat(fqdn.ok()).as(() -> "ping h1.tailnet.test:\n" + fqdn.describe()).isTrue();

                // The CLI against the real daemon: status table, whois, netcheck.
                ExecResult st = a.cli(Duration.ofSeconds(15), "status");
                assertThat(st.stdout()).as(st::describe).contains(ipA).contains(ipB).contains("h2").contains("direct 10.78.0.12:41641");
                ExecResult who = a.cli(Duration.ofSeconds(15), "whois", ipB);
                assertThat(who.stdout()).as(who::describe).contains("h2").contains("alice");
                ExecResult nc = a.cli(Duration.ofSeconds(30), "netcheck");
                assertThat(nc.stdout()).as(nc::describe).contains("* UDP: true").contains("IPv4: yes, 10.78.0.11:");

                // A late joiner, logging in interactively, is reachable without restarting anyone.
                TailnetNode c = TailnetNode.start(bins, hosts.get(2), lab.workDir().resolve("h3"));
                nodes.add(c);
                var up = hosts.get(2).spawn("lattice-up", java.util.Map.of(), List.of(bins.cli().toString(),
                        "--socket=" + c.socket, "up", "--login-server=" + ControlServerProcess.serverUrl(server.ip),
                        "--hostname=h3", "--accept-dns=false", "--timeout=60s"));
                assertThat(up.waitForOutput("/register/", Duration.ofSeconds(30))).as(() -> "auth URL printed:\n" + up.output()).isTrue();
                var m = java.util.regex.Pattern.compile("/register/(\\S+)").matcher(up.output());
                assertThat(m.find()).isTrue();
                server.admin("auth", "register", "--auth-id", m.group(1), "--user", "alice");
                assertThat(up.waitFor(Duration.ofSeconds(30))).as(() -> "up finished:\n" + up.output()).hasValue(0);
                String ipC = c.ipv4();
                a.await("late joiner h3 in h1's status", Duration.ofSeconds(10), n -> n.peerHostNames().contains("h3"));
                assertThat(TailnetNode.icmp(hosts.get(0), ipC, Duration.ofSeconds(15))).as("ICMP h1 -> late joiner h3").isTrue();

                // Restarting latticed keeps the node's identity and addresses.
                b.restartDaemon();
                b.await("h2 running again after restart", Duration.ofSeconds(30),
                        n -> "Running".equals(n.status().path("BackendState").asString()));
                assertThat(b.ipv4()).isEqualTo(ipB);
                assertThat(TailnetNode.icmp(hosts.get(0), ipB, Duration.ofSeconds(15))).as("ICMP h1 -> restarted h2").isTrue();

                // With the control server gone, established tunnels keep working.
                server.close();
                Lab.sleep(Duration.ofSeconds(2));
                assertThat(TailnetNode.icmp(hosts.get(0), ipB, Duration.ofSeconds(15))).as("ICMP h1 -> h2, control down").isTrue();
                assertThat(TailnetNode.icmp(hosts.get(2), ipA, Duration.ofSeconds(15))).as("ICMP h3 -> h1, control down").isTrue();
                // And a daemon restarted while control is down starts anyway, and says what it is waiting for.
                c.restartDaemon();
                ExecResult down = c.cli(Duration.ofSeconds(15), "status", "--json");
                assertThat(down.ok()).as(down::describe).isTrue();
                assertThat(c.daemon.isAlive()).isTrue();
                assertThat(c.status().path("BackendState").asString()).isIn("Starting", "NoState", "NeedsLogin", "Running");
                System.out.println("[e2e] 3 latticed hosts: joined, direct, MagicDNS, late joiner, restart, control outage OK");
            } finally {
                for (TailnetNode n : nodes) n.close();
                server.close();
            }
        }
    }

    static TailnetNode joined(TailnetNode.Binaries bins, Host h, Lab lab, ControlServerProcess server, String key,
            String name, String... extra) throws Exception {
        TailnetNode t = TailnetNode.start(bins, h, lab.workDir().resolve(name));
        ExecResult up = t.up(ControlServerProcess.serverUrl(server.ip), key, name, extra);
        assertThat(up.ok()).as(() -> name + ": up failed: " + up.describe() + "\ndaemon:\n" + t.daemon.tail(80)
                + "\nserver:\n" + server.process.tail(40)).isTrue();
        return t;
    }
}
