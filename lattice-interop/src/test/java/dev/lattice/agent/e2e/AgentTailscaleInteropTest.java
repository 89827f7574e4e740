package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A latticed host and an official tailscaled host on the same lattice-control ping each other both ways, directly
 * and, with their UDP to each other dropped by nftables, via DERP. Skipped visibly unless LATTICE_TAILSCALED and
 * LATTICE_TAILSCALE are set. The server_url is plain HTTP, so both run with TS_DEBUG_USE_DERP_HTTP=1.
 */
@Tag("netns")
@Timeout(360)
class AgentTailscaleInteropTest {
    static final String BLOCK_PEER_UDP = """
            table inet peerblock {
              chain out {
                type filter hook output priority 0; policy accept;
                ip daddr 10.79.0.0/24 ip daddr != 10.79.0.1 udp dport != 53 drop
              }
            }
            """;

    @Test
    void latticedAndOfficialTailscaledPingEachOtherDirectlyAndViaDerp() throws Exception {
        TailnetNode.Binaries official = TailnetNode.official();
        TailnetNode.Binaries ours = TailnetNode.lattice();
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl"), h1 = lab.host("h1"), h2 = lab.host("h2");
            lan.connect(ctl);
            lan.connect(h1);
            lan.connect(h2);
            ctl.addAddress("eth0", "10.79.0.1/24");
            h1.addAddress("eth0", "10.79.0.11/24");
            h2.addAddress("eth0", "10.79.0.12/24");
            Map<String, String> env = Map.of("TS_DEBUG_USE_DERP_HTTP", "1");
            try (ControlServerProcess server = ControlServerProcess.start(ctl, "10.79.0.1", lab.workDir().resolve("ctl"), "")) {
                server.admin("users", "create", "alice");
                String key = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--expiration", "1h");
                String url = ControlServerProcess.serverUrl(server.ip);
                try (TailnetNode l = TailnetNode.start(ours, h1, lab.workDir().resolve("lattice"), env);
                        TailnetNode t = TailnetNode.start(official, h2, lab.workDir().resolve("official"), env)) {
                    assertThat(l.up(url, key, "lat").ok()).as(() -> "latticed up\n" + l.daemon.tail(60)).isTrue();
                    assertThat(t.up(url, key, "ts").ok()).as(() -> "tailscaled up\n" + t.daemon.tail(60)).isTrue();
                    l.await("ts in latticed's status", Duration.ofSeconds(20), n -> n.peerHostNames().contains("ts"));
                    t.await("lat in tailscaled's status", Duration.ofSeconds(20), n -> n.peerHostNames().contains("lat"));
                    String ipL = l.ipv4(), ipT = t.ipv4();

                    System.out.println("[interop] lat -> ts: " + l.awaitDirect(ipT, Duration.ofSeconds(30)));
                    System.out.println("[interop] ts -> lat: " + t.awaitDirect(ipL, Duration.ofSeconds(30)));
                    assertThat(TailnetNode.icmp(h1, ipT, Duration.ofSeconds(15))).as("ICMP latticed -> tailscaled").isTrue();
                    assertThat(TailnetNode.icmp(h2, ipL, Duration.ofSeconds(15))).as("ICMP tailscaled -> latticed").isTrue();

                    // Drop their UDP to each other: both fall back to the embedded DERP relay.
                    h1.nft(BLOCK_PEER_UDP);
                    h2.nft(BLOCK_PEER_UDP);
                    TailnetNode.Pong viaDerp1 = awaitDerp(l, ipT), viaDerp2 = awaitDerp(t, ipL);
                    System.out.println("[interop] lat -> ts (UDP dropped): " + viaDerp1);
                    System.out.println("[interop] ts -> lat (UDP dropped): " + viaDerp2);
                    assertThat(TailnetNode.icmp(h1, ipT, Duration.ofSeconds(15))).as("ICMP latticed -> tailscaled via DERP").isTrue();
                    assertThat(TailnetNode.icmp(h2, ipL, Duration.ofSeconds(15))).as("ICMP tailscaled -> latticed via DERP").isTrue();
                }
            }
        }
    }

    static TailnetNode.Pong awaitDerp(TailnetNode n, String target) {
        long end = System.nanoTime() + Duration.ofSeconds(45).toNanos();
        TailnetNode.Pong last = null;
        while (System.nanoTime() < end) {
            var p = n.discoPing(target, Duration.ofSeconds(3));
            if (p.isPresent()) {
                last = p.get();
                if (!last.direct()) return last;
            }
            Lab.sleep(Duration.ofMillis(500));
        }
        throw new AssertionError(n.host.name() + ": no DERP pong from " + target + " (last " + last + ")\n" + n.daemon.tail(60));
    }
}
