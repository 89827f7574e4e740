package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Nat;
import dev.lattice.testlab.NatLab;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two latticed hosts, each behind its own NAT router, with lattice-control (embedded DERP + STUN) on the "internet":
 * behind endpoint-independent NATs they punch through to a direct path within seconds; when their routers drop all
 * UDP they still talk via DERP; when UDP is allowed again the path upgrades back to direct.
 */
@Tag("netns")
@Timeout(420)
class AgentNatTest {

    @Test
    void directThroughEndpointIndependentNatsDerpWhenUdpIsBlockedAndBackToDirect() throws Exception {
        TailnetNode.Binaries bins = TailnetNode.lattice();
        try (NatLab net = NatLab.builder().site("a", Nat.ENDPOINT_INDEPENDENT).site("b", Nat.ENDPOINT_INDEPENDENT).build()) {
            Lab lab = net.lab();
            try (ControlServerProcess server = ControlServerProcess.start(net.server(), net.serverAddress(),
                    lab.workDir().resolve("ctl"), "")) {
                server.admin("users", "create", "alice");
                String key = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--expiration", "1h");
                try (TailnetNode a = AgentMeshTest.joined(bins, net.site("a").host(), lab, server, key, "a");
                        TailnetNode b = AgentMeshTest.joined(bins, net.site("b").host(), lab, server, key, "b")) {
                    a.await("b in a's status", Duration.ofSeconds(20), n -> n.peerHostNames().contains("b"));
                    String ipA = a.ipv4(), ipB = b.ipv4();

                    Instant t0 = Instant.now();
                    TailnetNode.Pong direct = a.awaitDirect(ipB, Duration.ofSeconds(30));
                    System.out.println("[e2e] EIM NATs: a -> b " + direct + " after " + Duration.between(t0, Instant.now()).toMillis() + " ms");
                    assertThat(direct.via()).as("the direct path is b's NAT's public address")
                            .startsWith(net.site("b").router().wanAddress() + ":");
                    assertThat(TailnetNode.icmp(net.site("a").host(), ipB, Duration.ofSeconds(15))).isTrue();

                    net.site("a").router().blockUdp(true);
                    net.site("b").router().blockUdp(true);
                    TailnetNode.Pong relayed = AgentTailscaleInteropTest.awaitDerp(a, ipB);
                    System.out.println("[e2e] UDP blocked: a -> b " + relayed);
                    assertThat(TailnetNode.icmp(net.site("a").host(), ipB, Duration.ofSeconds(15))).as("ICMP via DERP").isTrue();
                    assertThat(TailnetNode.icmp(net.site("b").host(), ipA, Duration.ofSeconds(15))).as("ICMP via DERP, reverse").isTrue();

                    net.site("a").router().blockUdp(false);
                    net.site("b").router().blockUdp(false);
                    t0 = Instant.now();
                    TailnetNode.Pong again = a.awaitDirect(ipB, Duration.ofSeconds(60));
                    System.out.println("[e2e] UDP open again: a -> b " + again + " after " + Duration.between(t0, Instant.now()).toMillis() + " ms");

                    // Roaming: a's host gets a new LAN address, so its NAT mapping (and public port) changes. The
                    // tunnel must carry on, and a direct path must be found again from the new address.
                    Host ha = net.site("a").host();
                    ha.bash(Duration.ofSeconds(10), """
                            sysctl -qw net.ipv4.conf.all.promote_secondaries=1 net.ipv4.conf.eth0.promote_secondaries=1
                            ip addr add 192.168.11.3/24 dev eth0
                            ip addr del 192.168.11.2/24 dev eth0
                            ip route replace default via 192.168.11.1
                            """);
                    assertThat(ha.exec("ip", "-4", "addr", "show", "dev", "eth0").stdout()).contains("192.168.11.3").doesNotContain("192.168.11.2/");
                    t0 = Instant.now();
                    assertThat(TailnetNode.icmp(ha, ipB, Duration.ofSeconds(20))).as("ICMP a -> b after a roamed").isTrue();
                    assertThat(TailnetNode.icmp(net.site("b").host(), ipA, Duration.ofSeconds(20))).as("ICMP b -> a after a roamed").isTrue();
                    TailnetNode.Pong roamed = b.awaitDirect(ipA, Duration.ofSeconds(45));
                    System.out.println("[e2e] after a roamed: b -> a " + roamed + " after " + Duration.between(t0, Instant.now()).toMillis() + " ms");
                }
            }
        }
    }

    /**
     * Behind a symmetric NAT (a new public port per destination) the port STUN saw is useless to the peer, so both
     * sides may stay on DERP (or find a path via the EIM side's pings): either way the tunnel must work.
     */
    @Test
    void aSymmetricNatStillGetsThroughViaDerpOrAPunchedPath() throws Exception {
        TailnetNode.Binaries bins = TailnetNode.lattice();
        try (NatLab net = NatLab.builder().site("a", Nat.SYMMETRIC).site("b", Nat.SYMMETRIC).build()) {
            Lab lab = net.lab();
            try (ControlServerProcess server = ControlServerProcess.start(net.server(), net.serverAddress(),
                    lab.workDir().resolve("ctl"), "")) {
                server.admin("users", "create", "alice");
                String key = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--expiration", "1h");
                try (TailnetNode a = AgentMeshTest.joined(bins, net.site("a").host(), lab, server, key, "a");
                        TailnetNode b = AgentMeshTest.joined(bins, net.site("b").host(), lab, server, key, "b")) {
                    a.await("b in a's status", Duration.ofSeconds(20), n -> n.peerHostNames().contains("b"));
                    String ipA = a.ipv4(), ipB = b.ipv4();
                    assertThat(TailnetNode.icmp(net.site("a").host(), ipB, Duration.ofSeconds(15))).as("ICMP a -> b").isTrue();
                    assertThat(TailnetNode.icmp(net.site("b").host(), ipA, Duration.ofSeconds(15))).as("ICMP b -> a").isTrue();
                    var pong = a.discoPing(ipB, Duration.ofSeconds(3));
                    assertThat(pong).as("disco ping a -> b behind two symmetric NATs").isPresent();
                    System.out.println("[e2e] symmetric NATs: a -> b " + pong.get());
                }
            }
        }
    }
}
