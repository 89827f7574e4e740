package dev.lattice.control.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two official clients that reach lattice-control's embedded DERP only over a WebSocket ({@code TS_DEBUG_DERP_WS_CLIENT=1}:
 * tailscale's derphttp dials {@code /derp} with {@code Upgrade: websocket} and the {@code derp} subprotocol), with their
 * direct UDP to each other dropped by nftables, still talk through the relay; the server counts the WebSocket
 * connections. tailscaled has its WebSocket DERP client only when built with {@code -tags ts_debug_websockets}
 * ({@code go build -tags ts_debug_websockets ./cmd/tailscaled}): that binary is LATTICE_TAILSCALED_WS, with
 * LATTICE_TAILSCALE the CLI; skipped unless both are set. The server_url is plain HTTP, so the clients also run with
 * TS_DEBUG_USE_DERP_HTTP=1 (ws:// instead of wss://).
 */
@Tag("netns")
@Timeout(300)
class TailscaleDerpWebSocketInteropTest {
    private static final String BLOCK_PEER_UDP = """
            table inet lattice_block_udp_ws {
              chain outp {
                type filter hook output priority 0;
                ip daddr 10.78.0.0/24 ip daddr != 10.78.0.1 meta l4proto udp drop;
              }
              chain inp {
                type filter hook input priority 0;
                ip saddr 10.78.0.0/24 ip saddr != 10.78.0.1 meta l4proto udp drop;
              }
            }
            """;

    @Test
    void officialClientsRelayThroughDerpOverWebSocketWhenUdpIsBlocked() throws Exception {
        String ws = System.getenv("LATTICE_TAILSCALED_WS");
        org.junit.jupiter.api.Assumptions.assumeTrue(ws != null && java.nio.file.Files.isExecutable(java.nio.file.Path.of(ws)),
                "LATTICE_TAILSCALED_WS (tailscaled built with -tags ts_debug_websockets) not set: DERP-over-WebSocket interop skipped");
        OfficialTailscale.Binaries bins = new OfficialTailscale.Binaries(java.nio.file.Path.of(ws), OfficialTailscale.binaries().tailscale());
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl");
            lan.connect(ctl);
            ctl.addAddress("eth0", "10.78.0.1/24");
            Host h1 = lab.host("h1"), h2 = lab.host("h2");
            lan.connect(h1);
            lan.connect(h2);
            h1.addAddress("eth0", "10.78.0.11/24");
            h2.addAddress("eth0", "10.78.0.12/24");
            h1.nft(BLOCK_PEER_UDP);
            h2.nft(BLOCK_PEER_UDP);
            try (ControlServerProcess server = ControlServerProcess.start(ctl, "10.78.0.1", lab.workDir().resolve("ctl"), "")) {
                server.admin("users", "create", "bob");
                String key = server.admin("preauthkeys", "create", "--user", "bob", "--reusable");
                Map<String, String> env = Map.of("TS_DEBUG_USE_DERP_HTTP", "1", "TS_DEBUG_DERP_WS_CLIENT", "1");
                try (OfficialTailscale a = OfficialTailscale.start(bins, h1, lab.workDir().resolve("a"), env);
                        OfficialTailscale b = OfficialTailscale.start(bins, h2, lab.workDir().resolve("b"), env)) {
                    for (var t : List.of(a, b)) {
                        ExecResult up = t.up(ControlServerProcess.serverUrl(server.ip), key, t.host.name());
                        assertThat(up.ok()).as(() -> "tailscale up: " + up.describe() + "\n" + t.daemon.tail(40)).isTrue();
                    }
                    a.await("h2 visible", Duration.ofSeconds(30), t -> t.peerHostNames().contains("h2"));
                    for (var pair : List.of(List.of(a, b), List.of(b, a))) {
                        String target = pair.get(1).ipv4();
                        ExecResult r = pair.get(0).cli(Duration.ofSeconds(60), "ping", "--c", "10", "--timeout", "5s",
                                "--until-direct=false", target);
                        System.out.println("[interop] " + pair.get(0).host.name() + " -> " + pair.get(1).host.name() + ": "
                                + r.stdout().strip().lines().reduce((x, y) -> y).orElse(""));
                        assertThat(r.stdout()).as(() -> "ping via DERP\n" + r.describe() + "\n" + pair.get(0).daemon.tail(40))
                                .contains("via DERP(lattice)");
                        assertThat(r.stdout()).doesNotContain("via 10.78.0.");
                    }
                    Host.PingResult icmp = h1.ping(b.ipv4(), 3, Duration.ofSeconds(3));
                    assertThat(icmp.anyReceived()).as(() -> "ICMP through the relayed tunnel\n" + icmp.exec()).isTrue();
                    ExecResult metrics = ctl.exec(Duration.ofSeconds(10), "curl", "-sf", "http://127.0.0.1:9090/metrics");
                    String accepts = metrics.stdout().lines().filter(l -> l.startsWith("lattice_derp_websocket_accepts_total "))
                            .findFirst().orElse("none");
                    System.out.println("[interop] " + accepts);
                    assertThat(Double.parseDouble(accepts.substring(accepts.indexOf(' ') + 1))).as("both clients came over WebSocket")
                            .isGreaterThanOrEqualTo(2);
                    assertThat(a.daemon.tail(400)).contains("websocket");
                }
            }
        }
    }
}
