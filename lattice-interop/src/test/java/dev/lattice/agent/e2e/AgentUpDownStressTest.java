package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Clients going up and down fast, all at once: four clients each do ten rounds of {@code up}, half a second,
 * {@code down}, concurrently ({@code -Dlattice.stress.rounds=N} for a longer run). Each {@code up} must bring its node
 * online in lattice-control and each {@code down} take it offline; after the last {@code down} every client must be
 * offline within ten seconds, in {@code lattice-control nodes list}, the metrics and {@code status --json} of the
 * observers, peers that stay up throughout. A stream whose close the server handled before its open used to leave a
 * node online for good. Runs with latticed clients; a mixed run with official tailscaled clients and an official
 * observer is skipped visibly unless LATTICE_TAILSCALED and LATTICE_TAILSCALE are set.
 */
@Tag("netns")
@Timeout(900)
class AgentUpDownStressTest {
    static final int ROUNDS = Integer.getInteger("lattice.stress.rounds", 10);
    static final Duration PAUSE = Duration.ofMillis(500);
    static final Duration OFFLINE_BOUND = Duration.ofSeconds(10);

    @Test
    void latticedClientsGoingUpAndDownEndOfflineEverywhere() throws Exception {
        TailnetNode.Binaries ours = TailnetNode.lattice();
        scenario("latticed", List.of(ours, ours, ours, ours), List.of(ours));
    }

    @Test
    void mixedClientsGoingUpAndDownEndOfflineEverywhere() throws Exception {
        TailnetNode.Binaries official = TailnetNode.official(), ours = TailnetNode.lattice();
        scenario("mixed", List.of(ours, official, ours, official), List.of(ours, official));
    }

    /**
     * One round's timings: each command's, and from its return until the server showed the node online or offline
     * (-1: not within {@link #OFFLINE_BOUND}). latticed's up returns once its new map stream has its netmap, so it is
     * online by then; tailscale's up returns at once when it still has a netmap from before its down, and its map
     * stream opens a moment later.
     */
    record Round(long upMs, long onlineMs, long downMs, long offlineMs, String error) {}

    static void scenario(String label, List<TailnetNode.Binaries> clientBins, List<TailnetNode.Binaries> observerBins)
            throws Exception {
        try (Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host ctl = lab.host("ctl");
            lan.connect(ctl);
            ctl.addAddress("eth0", "10.82.0.1/24");
            Path ctlDir = lab.workDir().resolve("ctl");
            ControlServerProcess server = ControlServerProcess.start(ctl, "10.82.0.1", ctlDir, "");
            AdminNodes api = new AdminNodes(ctl, ctlDir.resolve("control.sock"));
            String url = ControlServerProcess.serverUrl(server.ip);
            List<TailnetNode> clients = new ArrayList<>(), observers = new ArrayList<>();
            try {
                server.admin("users", "create", "alice");
                String key = server.admin("preauthkeys", "create", "--user", "alice", "--reusable");
                for (int i = 0; i < observerBins.size(); i++) {
                    Host h = lab.host("o" + (i + 1));
                    lan.connect(h);
                    h.addAddress("eth0", "10.82.0." + (21 + i) + "/24");
                    observers.add(AgentPolicyTest.join(observerBins.get(i), h, lab, server, key, h.name()));
                }
                for (int i = 0; i < clientBins.size(); i++) {
                    Host h = lab.host("c" + (i + 1));
                    lan.connect(h);
                    h.addAddress("eth0", "10.82.0." + (11 + i) + "/24");
                    clients.add(TailnetNode.start(clientBins.get(i), h, lab.workDir().resolve(h.name()), AgentPolicyTest.ENV));
                }

                // All clients at once, round after round; the first up registers each.
                CyclicBarrier go = new CyclicBarrier(clients.size());
                List<List<Round>> rounds = new ArrayList<>();
                long t0 = System.nanoTime();
                ExecutorService pool = Executors.newFixedThreadPool(clients.size());
                try {
                    List<Future<List<Round>>> runs = new ArrayList<>();
                    for (TailnetNode c : clients) runs.add(pool.submit(() -> upDown(c, url, key, api, go)));
                    for (Future<List<Round>> f : runs) rounds.add(f.get(12, TimeUnit.MINUTES));
                } finally {
                    pool.shutdownNow();
                }
                long lastDown = System.nanoTime();
                System.out.printf(Locale.ROOT, "[updown] %s: %d clients x %d rounds of up, %d ms, down in %.1f s%n", label,
                        clients.size(), ROUNDS, PAUSE.toMillis(), (lastDown - t0) / 1e9);
                printRounds(label, clients, rounds);

                // Every client offline in the server, then in every observer's netmap.
                List<String> names = clients.stream().map(c -> c.host.name()).toList();
                long offlineServer = awaitMs(lastDown, () -> {
                    Map<String, AdminNodes.NodeState> n = api.nodes();
                    return names.stream().allMatch(x -> n.containsKey(x) && !n.get(x).online());
                });
                System.out.printf(Locale.ROOT, "[updown] %s: after the last down, all %d clients offline in the server after %s%n",
                        label, clients.size(), AgentHaFailoverTest.fmt(offlineServer));
                for (TailnetNode o : observers) {
                    long seen = awaitMs(lastDown, () -> {
                        JsonNode peers = o.status().path("Peer");
                        return names.stream().allMatch(x -> {
                            for (JsonNode p : peers) {
                                if (p.path("HostName").asString().equals(x)) return p.has("Online") && !p.path("Online").asBoolean();
                            }
                            return false;
                        });
                    });
                    System.out.printf(Locale.ROOT, "[updown] %s: ... and offline in observer %s (%s) status --json after %s%n",
                            label, o.host.name(), o.bins.kind().name().toLowerCase(Locale.ROOT), AgentHaFailoverTest.fmt(seen));
                    assertThat(seen).as(() -> o.host.name() + ": every client offline (Online false) in status --json within "
                            + OFFLINE_BOUND + "\n" + o.cli(Duration.ofSeconds(10), "status").output()).isPositive();
                }
                assertThat(offlineServer).as(() -> "every client offline in the server within " + OFFLINE_BOUND + " of the last down: "
                        + api.nodes().values()).isPositive();

                // The admin's view through the CLI (Headscale's -o json: an offline node has no "online").
                JsonNode list = JsonMapper.shared().readTree(server.admin("nodes", "list", "-o", "json"));
                for (String c : names) {
                    assertThat(AdminNodes.named(list, c).path("online").asBoolean(false)).as("nodes list: " + c + " online").isFalse();
                }
                for (TailnetNode o : observers) {
                    assertThat(AdminNodes.named(list, o.host.name()).path("online").asBoolean()).as("nodes list: observer "
                            + o.host.name() + " online").isTrue();
                }
                ExecResult metrics = ctl.exec(Duration.ofSeconds(10), "curl", "-sf", "http://127.0.0.1:9090/metrics");
                assertThat(metrics.stdout()).as(metrics::describe)
                        .containsPattern("(?m)^lattice_nodes_online " + observers.size() + "(\\.0)?$")
                        .containsPattern("(?m)^lattice_map_sessions " + observers.size() + "(\\.0)?$");

                // Each up left its node online, and every command worked.
                for (int i = 0; i < clients.size(); i++) {
                    TailnetNode c = clients.get(i);
                    List<Round> rs = rounds.get(i);
                    for (int r = 0; r < rs.size(); r++) {
                        Round x = rs.get(r);
                        int round = r + 1;
                        assertThat(x.error()).as(() -> c.host.name() + " round " + round + "\ndaemon log:\n" + c.daemon.tail(40)).isNull();
                        assertThat(x.onlineMs()).as(c.host.name() + " round " + round + ": online in the server within "
                                + OFFLINE_BOUND + " of up returning").isGreaterThanOrEqualTo(0);
                        assertThat(x.offlineMs()).as(c.host.name() + " round " + round + ": offline in the server within "
                                + OFFLINE_BOUND + " of down returning").isGreaterThanOrEqualTo(0);
                    }
                }
            } finally {
                for (TailnetNode n : clients) n.close();
                for (TailnetNode n : observers) n.close();
                server.close();
            }
        }
    }

    /** One client's rounds: up (the first registers), check it is online, pause, down. */
    static List<Round> upDown(TailnetNode c, String url, String key, AdminNodes api, CyclicBarrier go) throws Exception {
        go.await(1, TimeUnit.MINUTES);
        List<Round> out = new ArrayList<>();
        String name = c.host.name();
        for (int r = 0; r < ROUNDS; r++) {
            long a = System.nanoTime();
            ExecResult up = c.up(url, key, name);
            long b = System.nanoTime();
            long online = !up.ok() ? -1 : awaitMs(b, () -> {
                var n = api.nodes().get(name);
                return n != null && n.online();
            });
            Lab.sleep(PAUSE);
            long d0 = System.nanoTime();
            ExecResult down = c.cli(Duration.ofSeconds(30), "down");
            long d1 = System.nanoTime();
            long offline = !down.ok() ? -1 : awaitMs(d1, () -> {
                var n = api.nodes().get(name);
                return n != null && !n.online();
            });
            String error = !up.ok() ? "up failed: " + up.describe() : !down.ok() ? "down failed: " + down.describe() : null;
            out.add(new Round((b - a) / 1_000_000, online, (d1 - d0) / 1_000_000, offline, error));
        }
        return out;
    }

    /** Milliseconds from {@code since} until {@code cond} holds (polled every 50 ms), or -1 after the bound. */
    static long awaitMs(long since, java.util.concurrent.Callable<Boolean> cond) {
        long end = since + OFFLINE_BOUND.toNanos();
        while (System.nanoTime() < end) {
            long start = System.nanoTime();
            try {
                if (cond.call()) return Math.max(0, (start - since) / 1_000_000);
            } catch (Exception | AssertionError e) {
                // not yet
            }
            Lab.sleep(Duration.ofMillis(50));
        }
        return -1;
    }

    static void printRounds(String label, List<TailnetNode> clients, List<List<Round>> rounds) {
        StringBuilder sb = new StringBuilder("[updown] " + label + ": per round in ms: up, then online in the server after;"
                + " down, then offline in the server after (X: failed)\n");
        sb.append(String.format(Locale.ROOT, "%-6s", "round"));
        for (TailnetNode c : clients) {
            sb.append(String.format(Locale.ROOT, "%-28s", c.host.name() + " (" + c.bins.kind().name().toLowerCase(Locale.ROOT) + ")"));
        }
        sb.append('\n');
        for (int r = 0; r < ROUNDS; r++) {
            sb.append(String.format(Locale.ROOT, "%-6d", r + 1));
            for (List<Round> rs : rounds) {
                Round x = rs.get(r);
                String mark = x.error() != null ? " X" : "";
                sb.append(String.format(Locale.ROOT, "%-28s", x.upMs() + "+" + x.onlineMs() + " / " + x.downMs() + "+" + x.offlineMs() + mark));
            }
            sb.append('\n');
        }
        System.out.print(sb);
    }
}
