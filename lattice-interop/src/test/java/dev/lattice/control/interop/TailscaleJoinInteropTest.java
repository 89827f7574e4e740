package dev.lattice.control.interop;

import static org.assertj.core.api.Assertions.assertThat;

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
 * Official Tailscale clients against lattice-control: three hosts and the server on one LAN (network namespaces on
 * a bridge). Two clients join with a pre-auth key and see and ping each other; a third joins later and the first
 * two see it without restarting. 130 made-up nodes registered first put the clients' IDs past two ranges of 64: their
 * full maps carry those as shared runs of peers ({@code netmap.PeerRuns}), the first opening the peers, and the
 * official client must read every peer of them. Skipped (visibly) unless {@code LATTICE_TAILSCALED} and {@code LATTICE_TAILSCALE}
 * name official binaries.
 */
@Tag("netns")
@Timeout(300)
class TailscaleJoinInteropTest {

    @Test
    void officialClientsJoinSeeEachOtherAndPing() throws Exception {
        OfficialTailscale.Binaries bins = OfficialTailscale.binaries();
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl");
            lan.connect(ctl);
            ctl.addAddress("eth0", "10.77.0.1/24");
            List<Host> hosts = new ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                Host h = lab.host("h" + i);
                lan.connect(h);
                h.addAddress("eth0", "10.77.0." + (10 + i) + "/24");
                hosts.add(h);
            }
            try (ControlServerProcess server = ControlServerProcess.start(ctl, "10.77.0.1", lab.workDir().resolve("ctl"), "")) {
                server.admin("users", "create", "alice");
                String key = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--expiration", "1h");
                assertThat(key).as("preauthkeys create prints just the key").doesNotContain("\n").isNotBlank();

                ExecResult made = storm(ctl, ControlServerProcess.serverUrl(server.ip), key, MADE_UP);
                assertThat(made.exitCode()).as(() -> "made-up nodes: " + made.describe()).isZero();

                List<OfficialTailscale> nodes = new ArrayList<>();
                try {
                    for (int i = 0; i < 2; i++) nodes.add(joined(bins, hosts.get(i), lab, server, key, "h" + (i + 1)));
                    OfficialTailscale a = nodes.get(0), b = nodes.get(1);
                    a.await("h2 in h1's status", Duration.ofSeconds(30), t -> t.peerHostNames().contains("h2"));
                    b.await("h1 in h2's status", Duration.ofSeconds(30), t -> t.peerHostNames().contains("h1"));
                    assertThat(a.ipv4()).startsWith("100.");
                    List<String> seen = a.peerHostNames();
                    assertThat(seen).as("h1's peers: the made-up nodes (runs of IDs 1-63 and 64-127) and h2")
                            .hasSize(MADE_UP + 1).contains("storm-0", "storm-" + (MADE_UP - 1), "h2");
                    pingBothWays(a, b);

                    OfficialTailscale c = joined(bins, hosts.get(2), lab, server, key, "h3");
                    nodes.add(c);
                    a.await("late joiner h3 in h1's status", Duration.ofSeconds(10), t -> t.peerHostNames().contains("h3"));
                    b.await("late joiner h3 in h2's status", Duration.ofSeconds(10), t -> t.peerHostNames().contains("h3"));
                    pingBothWays(a, c);
                    System.out.println("[interop] 3 official clients joined lattice-control; status and pings OK");
                } finally {
                    for (OfficialTailscale n : nodes) n.close();
                }
            }
        }
    }

    /** Made-up nodes registered before the official clients: IDs 1–130, two ranges of 64 and a bit. */
    private static final int MADE_UP = 130;

    private static ExecResult storm(Host h, String url, String key, int n) {
        String jvm = ProcessHandle.current().info().command().orElse("java");
        return h.exec(Duration.ofSeconds(180), null, java.util.Map.of(), List.of(jvm, "-cp",
                System.getProperty("java.class.path"), RegistrationStorm.class.getName(), url, key, Integer.toString(n)));
    }

    private static OfficialTailscale joined(OfficialTailscale.Binaries bins, Host h, Lab lab, ControlServerProcess server,
            String key, String name) throws Exception {
        OfficialTailscale t = OfficialTailscale.start(bins, h, lab.workDir().resolve(name));
        ExecResult up = t.up(ControlServerProcess.serverUrl(server.ip), key, name);
        assertThat(up.ok()).as(() -> name + ": tailscale up failed: " + up.describe() + "\ntailscaled:\n" + t.daemon.tail(60)
                + "\nserver:\n" + server.process.tail(60)).isTrue();
        return t;
    }

    private static void pingBothWays(OfficialTailscale x, OfficialTailscale y) {
        for (OfficialTailscale[] pair : new OfficialTailscale[][] {{x, y}, {y, x}}) {
            String target = pair[1].ipv4();
            ExecResult r = pair[0].cli(Duration.ofSeconds(40), "ping", "--c", "10", "--timeout", "3s", target);
            System.out.println("[interop] " + pair[0].host.name() + " -> " + pair[1].host.name() + ": " + r.stdout().strip());
            assertThat(r.ok() && r.stdout().contains("pong from")).as(() -> pair[0].host.name() + " tailscale ping "
                    + target + ":\n" + r.describe() + "\n" + pair[0].daemon.tail(40)).isTrue();
        }
    }
}
