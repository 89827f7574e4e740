package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.control.interop.PostgresLab;
import dev.lattice.control.interop.RegistrationStorm;
import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Two lattice-control processes (the packaged jar) on one PostgreSQL database, behind nginx (a plain round-robin
 * {@code upstream}, no stickiness, the self-hoster's proxy block), and three latticed hosts whose UDP to each other is
 * blocked, so everything between them goes through the replicas' DERP servers:
 * <ul>
 * <li>the nodes join through nginx, land on both replicas and ping each other: a pair homed on different replicas
 *     relays through the DERP mesh;</li>
 * <li>a policy set through one replica reaches a node on the other within a second;</li>
 * <li>200 simulated clients registering at once through nginx, spread over both replicas, get distinct addresses;</li>
 * <li>online status is the tailnet's: every node is online in both replicas' {@code nodes list}, whichever it streams
 *     to;</li>
 * <li>{@code kill -9} of a replica: its nodes are back, through nginx on the other, within 10 s, online in the
 *     survivor's {@code nodes list} and in a peer's {@code status --json}, and nothing is lost (users, nodes, keys,
 *     policy, routes); they ping each other again; the dead replica's heartbeat lapses and it leaves the survivor's
 *     mesh.</li>
 * </ul>
 * With LATTICE_TAILSCALED and LATTICE_TAILSCALE set, h3 is the official tailscaled.
 * Which replica a node is on is read from its own side: its DERP connection goes to the replica whose map it follows
 * (each replica lists its own DERP server first).
 */
@Tag("netns")
@Timeout(360)
class ReplicasBehindNginxTest {
    static final String NET = "10.79.0.";
    static final String LB = NET + "3";
    static final String ROUTE = "10.99.7.0/24";

    @Test
    void replicasBehindNginxRelayForEachOtherSurviveKill9AndAllocateRaceFree() throws Exception {
        Optional<Path> nginx = Lab.findCommand("nginx");
        assumeTrue(nginx.isPresent(), "nginx not installed (.ci/run installs it): replicas-behind-nginx test skipped");
        assumeTrue(Lab.findCommand("python3").isPresent(), "python3 not installed: replicas-behind-nginx test skipped");
        TailnetNode.Binaries bins = TailnetNode.lattice();
        // With the official binaries given, h3 is tailscaled: Tailscale's client with the replicas' region.
        TailnetNode.Binaries h3Bins = officialIfGiven().orElse(bins);
        System.out.println("[replicas] h3 runs " + (h3Bins == bins ? "latticed" : "the official tailscaled"));
        try (PostgresLab pg = PostgresLab.create(); Lab lab = new Lab()) {
            Switch lan = lab.newSwitch("lan");
            Host r1 = host(lab, lan, "r1", NET + "1"), r2 = host(lab, lan, "r2", NET + "2"), lb = host(lab, lan, "lb", LB);
            List<Host> hosts = new ArrayList<>();
            List<String> clientIps = List.of(NET + "11", NET + "12", NET + "13");
            for (int i = 0; i < 3; i++) hosts.add(host(lab, lan, "h" + (i + 1), clientIps.get(i)));
            // No UDP between the clients: every packet between them is relayed by DERP.
            for (int i = 0; i < 3; i++) hosts.get(i).nft(blockUdpTo(clientIps, clientIps.get(i)));
            pg.forwardIn(r1);
            pg.forwardIn(r2);
            BackgroundProcess proxy = startNginx(lb, nginx.get(), lab.workDir().resolve("nginx"));
            Map<String, ControlServerProcess> replicas = new LinkedHashMap<>();
            List<TailnetNode> nodes = new ArrayList<>();
            try {
                Instant t0 = Instant.now();
                try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
                    Future<ControlServerProcess> fa = pool.submit(() -> replica(pg, r1, NET + "1", lab.workDir().resolve("r1")));
                    Future<ControlServerProcess> fb = pool.submit(() -> replica(pg, r2, NET + "2", lab.workDir().resolve("r2")));
                    replicas.put(NET + "1", fa.get());
                    replicas.put(NET + "2", fb.get());
                }
                ControlServerProcess a = replicas.get(NET + "1"), b = replicas.get(NET + "2");
                awaitTrue("the replicas' DERP servers meshed", Duration.ofSeconds(15),
                        () -> metric(r1, "lattice_derp_mesh_peers") == 1 && metric(r2, "lattice_derp_mesh_peers") == 1);
                System.out.printf("[replicas] two replicas up and meshed in %d ms%n", Duration.between(t0, Instant.now()).toMillis());

                a.admin("users", "create", "alice");
                String key = a.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--expiration", "1h");
                String lbUrl = "http://" + LB + ":" + ControlServerProcess.PORT;
                for (int i = 0; i < 3; i++) {
                    String name = "h" + (i + 1);
                    TailnetNode n = i == 2 && h3Bins != bins
                            ? TailnetNode.start(h3Bins, hosts.get(i), lab.workDir().resolve(name), Map.of("TS_DEBUG_USE_DERP_HTTP", "1"))
                            : TailnetNode.start(bins, hosts.get(i), lab.workDir().resolve(name));
                    nodes.add(n);
                    String[] extra = i == 2 ? new String[] {"--advertise-routes=" + ROUTE} : new String[0];
                    ExecResult up = n.up(lbUrl, key, name, extra);
                    assertThat(up.ok()).as(() -> name + ": up through nginx failed: " + up.describe() + "\n" + n.daemon.tail(60)
                            + "\nnginx:\n" + proxy.tail(20)).isTrue();
                }
                spreadOverBothReplicas(nodes, hosts, lb);
                Map<String, String> homes = homes(hosts);
                System.out.println("[replicas] homes: " + homes);

                List<String> ips = new ArrayList<>();
                for (TailnetNode n : nodes) ips.add(n.ipv4());
                assertThat(new HashSet<>(ips)).hasSize(3);
                String h3Id = nodeId(a, "h3");
                a.admin("nodes", "approve-routes", "--identifier", h3Id, "--routes", ROUTE);

                // Every pair pings, through DERP (UDP between them is blocked); pairs on different replicas through the mesh.
                pingAll(hosts, ips, Duration.ofSeconds(30));
                assertThat(metricLabelled(r1, "lattice_derp_packets_total", "forwarded_out")
                        + metricLabelled(r2, "lattice_derp_packets_total", "forwarded_out"))
                        .as("packets between clients homed on different replicas went through the mesh").isPositive();
                System.out.printf("[replicas] DERP mesh forwarded r1 %d, r2 %d packets%n",
                        (long) metricLabelled(r1, "lattice_derp_packets_total", "forwarded_out"),
                        (long) metricLabelled(r2, "lattice_derp_packets_total", "forwarded_out"));

                // A policy set through one replica reaches a node on the other within a second.
                int x = indexHomedOn(homes, hosts, NET + "2");
                ControlServerProcess other = a; // the node is on r2, the policy goes through r1
                List<Integer> rest = new ArrayList<>(List.of(0, 1, 2));
                rest.remove(Integer.valueOf(x));
                Path hide = lab.workDir().resolve("hide.json");
                Files.writeString(hide, "{\"acls\":[{\"action\":\"accept\",\"src\":[\"" + ips.get(rest.get(0)) + "\"],\"dst\":[\""
                        + ips.get(rest.get(1)) + ":*\"]}]}");
                Instant setAt = Instant.now();
                other.admin("policy", "set", "-f", hide.toString());
                long cliMs = Duration.between(setAt, Instant.now()).toMillis();
                long hiddenMs = awaitMillis("h" + (x + 1) + " (on r2) sees no peers", Duration.ofSeconds(10),
                        () -> nodes.get(x).status().path("Peer").isEmpty());
                Path open = lab.workDir().resolve("open.json");
                Files.writeString(open, "// replicas lab\n{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}]}\n");
                other.admin("policy", "set", "-f", open.toString());
                long shownMs = awaitMillis("h" + (x + 1) + " (on r2) sees its peers again", Duration.ofSeconds(10),
                        () -> nodes.get(x).status().path("Peer").size() == 2);
                System.out.printf("[replicas] policy through r1 reached a node on r2 %d ms after the CLI returned (the CLI took"
                        + " %d ms), and back in %d ms%n", hiddenMs, cliMs, shownMs);
                assertThat(hiddenMs).as("policy propagation (ms)").isLessThan(1000);
                assertThat(shownMs).as("policy propagation (ms)").isLessThan(1000);

                // 200 registrations at once through nginx: spread over both replicas, no address twice.
                double regA = metricLabelled(r1, "lattice_registrations_total", "registered");
                double regB = metricLabelled(r2, "lattice_registrations_total", "registered");
                ExecResult storm = storm(lb, lbUrl, key, 200);
                System.out.println("[replicas] " + storm.stdout().trim());
                assertThat(storm.ok()).as(storm::describe).isTrue();
                double byA = metricLabelled(r1, "lattice_registrations_total", "registered") - regA;
                double byB = metricLabelled(r2, "lattice_registrations_total", "registered") - regB;
                System.out.printf("[replicas] the storm's registrations: r1 %d, r2 %d%n", (long) byA, (long) byB);
                assertThat(byA).as("registrations on r1").isPositive();
                assertThat(byB).as("registrations on r2").isPositive();
                JsonNode all = json(b.admin("-o", "json", "nodes", "list"));
                assertThat(all.size()).isEqualTo(203);
                Set<String> addresses = new HashSet<>();
                for (JsonNode n : all) {
                    for (JsonNode ip : n.path("ip_addresses")) {
                        assertThat(addresses.add(ip.asString())).as("address %s given twice", ip.asString()).isTrue();
                    }
                }
                assertThat(addresses).hasSize(2 * 203);

                // Online status is the tailnet's: every node, on r1 or r2, is online in both replicas' lists.
                homes = homes(hosts);
                Map<String, String> homesNow = homes;
                long wideMs = awaitMillis("every node online in both replicas' nodes list", Duration.ofSeconds(15),
                        () -> allOnline(a, 3) && allOnline(b, 3));
                System.out.printf("[replicas] every node online in both replicas' lists (homes %s) after %d ms%n", homesNow, wideMs);

                // kill -9 the replica holding the most of our nodes; the other takes them all within 10 s.
                String victimIp = homes.values().stream().filter((NET + "1")::equals).count() >= 2 ? NET + "1" : NET + "2";
                String survivorIp = victimIp.equals(NET + "1") ? NET + "2" : NET + "1";
                ControlServerProcess victim = replicas.get(victimIp), survivor = replicas.get(survivorIp);
                Host survivorHost = victimIp.equals(NET + "1") ? r2 : r1;
                Snapshot before = Snapshot.of(survivor);
                long onVictim = homes.values().stream().filter(victimIp::equals).count();
                int moved = indexHomedOn(homes, hosts, victimIp);
                int viewer = homes.values().stream().anyMatch(survivorIp::equals) ? indexHomedOn(homes, hosts, survivorIp)
                        : (moved + 1) % hosts.size();
                String movedName = "h" + (moved + 1);
                Instant killed = Instant.now();
                victim.process.kill();
                long backMs = awaitMillis("all three map streams on the surviving replica", Duration.ofSeconds(30),
                        () -> metric(survivorHost, "lattice_map_sessions") >= 3);
                System.out.printf("[replicas] kill -9 of %s (%d of our nodes on it): all back on %s in %d ms%n",
                        victimIp, onVictim, survivorIp, backMs);
                assertThat(backMs).as("failover (ms)").isLessThanOrEqualTo(10_000);
                // Online again, on its own stream to the survivor: in the survivor's list and in a peer's status.
                String movedIp = ips.get(moved);
                awaitTrue(movedName + " online on the survivor and to h" + (viewer + 1), Duration.ofSeconds(10),
                        () -> allOnline(survivor, 3) && peerOnline(nodes.get(viewer), movedIp));
                long onlineMs = Duration.between(killed, Instant.now()).toMillis();
                System.out.printf("[replicas] %s (was on the killed replica) online in the survivor's list and in h%d's status"
                        + " %d ms after the kill%n", movedName, viewer + 1, onlineMs);
                assertThat(onlineMs).as("online again after the kill (ms)").isLessThanOrEqualTo(10_000);
                long derpMs;
                try {
                    derpMs = awaitMillis("all three homed on the survivor's DERP", Duration.ofSeconds(30),
                            () -> homes(hosts).values().stream().allMatch(survivorIp::equals));
                } catch (AssertionError e) {
                    StringBuilder ss = new StringBuilder();
                    for (Host h : hosts) ss.append(h.name()).append(":\n").append(h.exec(Duration.ofSeconds(5), "ss", "-Htn").stdout());
                    throw new AssertionError(e.getMessage() + "; homes " + homes(hosts) + "\n" + ss
                            + "\nh1:\n" + nodes.get(0).daemon.tail(40), e);
                }
                System.out.printf("[replicas] and their DERP connections on it %d ms after the kill%n",
                        Duration.between(killed, Instant.now()).toMillis());
                assertThat(Snapshot.of(survivor)).as("nothing lost").isEqualTo(before);
                assertThat(before.routes()).contains(ROUTE);
                pingAll(hosts, ips, Duration.ofSeconds(30));
                assertThat(derpMs).isNotNegative();
                // The killed replica's heartbeat lapses: it leaves the survivor's mesh (and its DERP map) by itself.
                awaitTrue("the killed replica out of the survivor's mesh", Duration.ofSeconds(20),
                        () -> metric(survivorHost, "lattice_derp_mesh_peers") == 0);
                System.out.printf("[replicas] the killed replica left the mesh %d ms after the kill%n",
                        Duration.between(killed, Instant.now()).toMillis());
                // Still online once the killed replica is out of the region (that its sessions' lapse, 20 s, leaves
                // them online on the survivor's own is ReplicaPresenceTest's, not worth 15 s more here).
                assertThat(allOnline(survivor, 3)).as("all online on the survivor: " + survivor.admin("nodes", "list")).isTrue();
                assertThat(peerOnline(nodes.get(viewer), movedIp)).as(movedName + " online to h" + (viewer + 1)).isTrue();
            } finally {
                for (TailnetNode n : nodes) {
                    try {
                        n.close();
                    } catch (RuntimeException | AssertionError e) {
                        // the lab goes anyway
                    }
                }
                replicas.values().forEach(ControlServerProcess::close);
                proxy.stop();
            }
        }
    }

    /** What must survive a replica: users, nodes (identity, addresses, routes), keys, policy. */
    record Snapshot(String users, List<String> nodes, String keys, String policy, String routes) {
        static Snapshot of(ControlServerProcess s) {
            List<String> nodes = new ArrayList<>();
            StringBuilder routes = new StringBuilder();
            for (JsonNode n : json(s.admin("-o", "json", "nodes", "list"))) {
                nodes.add(n.path("id").asString() + " " + n.path("given_name").asString() + " " + n.path("user").path("name").asString()
                        + " " + n.path("ip_addresses") + " " + n.path("node_key").asString() + " " + n.path("tags")
                        + " " + n.path("approved_routes"));
                for (JsonNode r : n.path("approved_routes")) routes.append(r.asString()).append(' ');
            }
            return new Snapshot(s.admin("-o", "json", "users", "list"), nodes, s.admin("-o", "json", "preauthkeys", "list"),
                    s.admin("policy", "get"), routes.toString());
        }
    }

    static Optional<TailnetNode.Binaries> officialIfGiven() {
        String d = System.getenv("LATTICE_TAILSCALED"), c = System.getenv("LATTICE_TAILSCALE");
        if (d == null || d.isBlank() || c == null || c.isBlank()) return Optional.empty();
        return Optional.of(TailnetNode.official());
    }

    static Host host(Lab lab, Switch lan, String name, String ip) {
        Host h = lab.host(name);
        lan.connect(h);
        h.addAddress("eth0", ip + "/24");
        return h;
    }

    static String blockUdpTo(List<String> clients, String self) {
        List<String> others = clients.stream().filter(c -> !c.equals(self)).toList();
        String set = "{ " + String.join(", ", others) + " }";
        return """
                table inet nopeer {
                  chain in { type filter hook input priority 0; ip saddr %1$s meta l4proto udp drop; }
                  chain out { type filter hook output priority 0; ip daddr %1$s meta l4proto udp drop; }
                }
                """.formatted(set);
    }

    static ControlServerProcess replica(PostgresLab pg, Host h, String ip, Path dir) throws Exception {
        String yaml = """
                server_url: http://%1$s:8080
                listen_addr: %2$s:8080
                metrics_listen_addr: 127.0.0.1:9090
                trusted_proxies: [%1$s/32]
                noise:
                  private_key_path: %3$s/noise_private.key
                prefixes:
                  v4: 100.64.0.0/10
                  v6: fd7a:115c:a1e0::/48
                %4$sderp:
                  server:
                    enabled: true
                    region_id: 999
                    region_code: lattice
                    region_name: Lattice replicas
                    verify_clients: true
                    stun_listen_addr: %2$s:3478
                    private_key_path: %3$s/derp_server_private.key
                    automatically_add_embedded_derp_region: true
                    ipv4: %2$s
                    url: http://%2$s:8080
                  urls: []
                dns:
                  magic_dns: true
                  base_domain: tailnet.test
                  nameservers:
                    global: []
                policy:
                  mode: database
                log:
                  level: info
                unix_socket: %3$s/control.sock
                """.formatted(LB, ip, dir, pg.databaseYaml());
        return ControlServerProcess.startWithConfig(h, ip, dir, yaml);
    }

    static BackgroundProcess startNginx(Host lb, Path nginx, Path dir) throws Exception {
        Files.createDirectories(dir);
        Path conf = dir.resolve("nginx.conf");
        // The upstream is plain round robin; the location block is the self-hoster's (../shared/examples).
        Files.writeString(conf, """
                pid %1$s/nginx.pid;
                error_log %1$s/nginx-error.log;
                worker_processes 1;
                worker_rlimit_nofile 8192;
                events { worker_connections 4096; }
                http {
                  access_log off;
                  client_body_temp_path %1$s; proxy_temp_path %1$s; fastcgi_temp_path %1$s; uwsgi_temp_path %1$s; scgi_temp_path %1$s;
                  upstream replicas {
                    server %2$s1:8080;
                    server %2$s2:8080;
                  }
                  server {
                    listen %3$s:8080;
                    location / {
                        proxy_pass http://replicas;
                        proxy_http_version 1.1;
                        proxy_set_header Upgrade $http_upgrade;
                        proxy_set_header Connection "upgrade";
                        proxy_set_header Host $host;
                    }
                  }
                }
                """.formatted(dir, NET, LB));
        BackgroundProcess p = lb.spawn("nginx", Map.of(), List.of(nginx.toString(), "-c", conf.toString(), "-p", dir.toString(),
                "-g", "daemon off;"));
        Instant end = Instant.now().plusSeconds(10);
        while (Instant.now().isBefore(end)) {
            if (!p.isAlive()) throw new AssertionError("nginx exited:\n" + p.tail(20));
            if (lb.exec(Duration.ofSeconds(3), "sh", "-c", "ss -Hltn | grep -q '" + LB + ":8080'").ok()) return p;
            Lab.sleep(Duration.ofMillis(100));
        }
        throw new AssertionError("nginx did not listen:\n" + p.tail(20));
    }

    /** The replica (its address) each client's DERP connection goes to: the replica whose map it follows. */
    static Map<String, String> homes(List<Host> hosts) {
        Map<String, String> m = new LinkedHashMap<>();
        for (Host h : hosts) {
            ExecResult r = h.exec(Duration.ofSeconds(5), "ss", "-Htn", "state", "established");
            String home = "?";
            for (String line : r.stdout().split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 4) continue;
                // Java's sockets are dual-stack: an IPv4 peer shows as [::ffff:a.b.c.d]:port.
                String peer = f[f.length - 1].replace("[::ffff:", "").replace("]", "");
                if (peer.equals(NET + "1:8080") || peer.equals(NET + "2:8080")) {
                    home = home.equals("?") ? peer.substring(0, peer.indexOf(':')) : home + "+" + peer.substring(0, peer.indexOf(':'));
                }
            }
            m.put(h.name(), home);
        }
        return m;
    }

    static int indexHomedOn(Map<String, String> homes, List<Host> hosts, String replica) {
        for (int i = 0; i < hosts.size(); i++) if (replica.equals(homes.get(hosts.get(i).name()))) return i;
        throw new AssertionError("no node homed on " + replica + ": " + homes);
    }

    /**
     * nginx balances requests, not clients, so all three may land on one replica: until both have one, shift the
     * round robin by a request and restart the daemon of a node on the crowded replica (it reconnects through nginx).
     */
    static void spreadOverBothReplicas(List<TailnetNode> nodes, List<Host> hosts, Host lb) {
        for (int attempt = 0; attempt < 8; attempt++) {
            Map<String, String> homes = awaitHomes(hosts);
            Set<String> used = new HashSet<>(homes.values());
            if (used.contains(NET + "1") && used.contains(NET + "2")) return;
            int i = attempt % nodes.size();
            lb.exec(Duration.ofSeconds(5), "curl", "-s", "-o", "/dev/null", "http://" + LB + ":8080/health");
            nodes.get(i).restartDaemon();
            nodes.get(i).await("running again", Duration.ofSeconds(30),
                    n -> "Running".equals(n.status().path("BackendState").asString()));
        }
        throw new AssertionError("the nodes did not spread over both replicas: " + homes(hosts));
    }

    /** Waits until every client has exactly one DERP connection to a replica. */
    static Map<String, String> awaitHomes(List<Host> hosts) {
        Instant end = Instant.now().plusSeconds(20);
        Map<String, String> m = homes(hosts);
        while (m.values().stream().anyMatch(v -> v.equals("?") || v.contains("+")) && Instant.now().isBefore(end)) {
            Lab.sleep(Duration.ofMillis(200));
            m = homes(hosts);
        }
        return m;
    }

    static void pingAll(List<Host> hosts, List<String> ips, Duration within) {
        for (int i = 0; i < hosts.size(); i++) {
            for (int j = 0; j < hosts.size(); j++) {
                if (i == j) continue;
                int from = i, to = j;
                assertThat(TailnetNode.icmp(hosts.get(i), ips.get(j), within))
                        .as(() -> "ICMP h" + (from + 1) + " -> h" + (to + 1) + " over the tailnet").isTrue();
            }
        }
    }

    static ExecResult storm(Host h, String url, String key, int n) {
        String java = ProcessHandle.current().info().command().orElse("java");
        return h.exec(Duration.ofSeconds(180), null, Map.of(), List.of(java, "-cp", System.getProperty("java.class.path"),
                RegistrationStorm.class.getName(), url, key, Integer.toString(n)));
    }

    static String nodeId(ControlServerProcess s, String name) {
        for (JsonNode n : json(s.admin("-o", "json", "nodes", "list"))) {
            if (name.equals(n.path("given_name").asString())) return n.path("id").asString();
        }
        throw new AssertionError("no node " + name);
    }

    /** Whether the {@code n} nodes h1…hn are all online in {@code s}'s {@code nodes list}. */
    static boolean allOnline(ControlServerProcess s, int n) {
        int online = 0;
        for (JsonNode node : json(s.admin("-o", "json", "nodes", "list"))) {
            String name = node.path("given_name").asString();
            for (int i = 1; i <= n; i++) if (name.equals("h" + i) && node.path("online").asBoolean()) online++;
        }
        return online == n;
    }

    /** Whether {@code viewer}'s status shows the peer with tailnet address {@code ip} online. */
    static boolean peerOnline(TailnetNode viewer, String ip) {
        for (JsonNode p : viewer.status().path("Peer")) {
            for (JsonNode a : p.path("TailscaleIPs")) if (ip.equals(a.asString())) return p.path("Online").asBoolean();
        }
        return false;
    }

    static JsonNode json(String text) {
        return JsonMapper.shared().readTree(text);
    }

    /** A metric's value on the replica in {@code h} (its metrics listener is on the host's loopback). */
    static double metric(Host h, String name) {
        return scrape(h, name + " ", "");
    }

    /** The metric's series whose labels include the value {@code labelValue}, summed. */
    static double metricLabelled(Host h, String name, String labelValue) {
        return scrape(h, name + "{", "\"" + labelValue + "\"");
    }

    private static double scrape(Host h, String prefix, String label) {
        ExecResult r = h.exec(Duration.ofSeconds(5), "curl", "-sf", "http://127.0.0.1:9090/metrics");
        if (!r.ok()) return -1;
        double sum = 0;
        boolean found = false;
        for (String line : r.stdout().split("\n")) {
            if (line.startsWith(prefix) && line.contains(label)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        return found ? sum : -1;
    }

    interface Check {
        boolean ok() throws Exception;
    }

    static void awaitTrue(String what, Duration timeout, Check c) throws Exception {
        awaitMillis(what, timeout, c);
    }

    /** Polls {@code c} until it holds; returns how long that took. */
    static long awaitMillis(String what, Duration timeout, Check c) throws Exception {
        long t0 = System.nanoTime(), end = t0 + timeout.toNanos();
        while (true) {
            try {
                if (c.ok()) return (System.nanoTime() - t0) / 1_000_000;
            } catch (RuntimeException | AssertionError e) {
                // not yet
            }
            if (System.nanoTime() > end) throw new AssertionError("timed out after " + timeout + " waiting for: " + what);
            Thread.sleep(50);
        }
    }
}
