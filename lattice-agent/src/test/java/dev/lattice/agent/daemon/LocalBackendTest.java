package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.agent.ipn.BackendException;
import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.ipn.MaskedPrefs;
import dev.lattice.agent.ipn.PeerStatus;
import dev.lattice.agent.ipn.UpRequest;
import dev.lattice.agent.ipn.UpResult;
import dev.lattice.agent.router.RouterConfig;
import dev.lattice.agent.system.AgentSystem;
import dev.lattice.agent.system.HostEnv;
import dev.lattice.agent.filter.TestPackets;
import dev.lattice.agent.testing.FakeResolver;
import dev.lattice.agent.testing.FakeRouter;
import dev.lattice.agent.testing.MemoryTun;
import dev.lattice.agent.testing.TestControlServer;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Hostinfo;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's backend without root: TUN, router and resolver are in-memory fakes handed in as the
 * {@link AgentSystem}; the UDP socket is real, on loopback; the control server is a real lattice-control.
 */
@Timeout(60)
class LocalBackendTest {
    @TempDir
    Path dir;
    TestControlServer control;
    final Map<String, Host> hosts = new ConcurrentHashMap<>();

    /** One fake host: its TUN, router and resolver, and the backend running on them. */
    record Host(MemoryTun tun, FakeRouter router, FakeResolver resolver, LocalBackend backend) {}

    @BeforeEach
    void start() throws Exception {
        control = TestControlServer.start(dir.resolve("control"), "");
    }

    @AfterEach
    void stop() {
        hosts.values().forEach(h -> h.backend().close());
        if (control != null) control.close();
    }

    Host host(String name) throws Exception {
        return host(name, Map.of());
    }

    Host host(String name, Map<String, String> envVars) throws Exception {
        MemoryTun tun = new MemoryTun("lt-" + name, false);
        FakeRouter router = new FakeRouter();
        FakeResolver resolver = new FakeResolver(List.of(new InetSocketAddress("192.0.2.53", 53)));
        HostEnv env = new HostEnv() {
            @Override
            public String hostname() {
                return name;
            }

            @Override
            public Set<InetAddress> addresses(String exclude) {
                return Set.of(InetAddress.getLoopbackAddress());
            }

            @Override
            public String env(String key) {
                return envVars.get(key);
            }
        };
        AgentSystem sys = AgentSystem.linux().withTuns((n, mtu) -> tun).withRouters((t, mtu) -> router)
                .withResolvers(d -> resolver).withHost(env)
                .withMagicSock(AgentSystem.linux().magicSock().withIncludeLoopback(true).withDerpHttp(true));
        Path state = dir.resolve(name);
        LocalBackend b = LocalBackend.start(new DaemonOptions(state, state.resolve("lattice.state"), state.resolve("sock"),
                tun.name(), 0), sys);
        Host h = new Host(tun, router, resolver, b);
        hosts.put(name, h);
        return h;
    }

    static UpRequest up(String server, String key) {
        return new UpRequest(server, key, null, null, null, null, false);
    }

    @Test
    void upWithAnAuthKeyRunsAndGivesTheHostItsAddressesRoutesAndMagicDns() throws Exception {
        Host a = host("alpha");
        UpResult r = a.backend().up(up(control.url(), control.preAuthKey()));
        assertThat(r.state()).isEqualTo(BackendState.Running);
        // The prefs were written beside the login, and are on disk by the answer: a kill now keeps them.
        var onDisk = dev.lattice.agent.state.StateStore.open(dir.resolve("alpha")).prefs();
        assertThat(onDisk.wantRunning()).isTrue();
        assertThat(onDisk.controlUrl()).isEqualTo(control.url());
        RouterConfig rc = a.router().current();
        assertThat(rc.localAddrs()).hasSize(2).allMatch(p -> p.bits() == 32 || p.bits() == 128);
        // Alone in the tailnet: MagicDNS's addresses, and no tailnet route (tailscaled routes each peer, not the range).
        assertThat(rc.routes()).containsExactlyInAnyOrder(IpPrefix.parse("100.100.100.100/32"), IpPrefix.parse("fd7a:115c:a1e0::53/128"));
        assertThat(a.resolver().nameservers).containsExactly(InetAddress.getByName("100.100.100.100"));
        assertThat(a.resolver().search).contains("tailnet.test.");

        a.backend().down();
        assertThat(a.router().current()).isEqualTo(RouterConfig.EMPTY);
        assertThat(a.resolver().nameservers).as("host resolver restored on down").isEmpty();
        assertThat(a.backend().status().backendState()).isEqualTo(BackendState.Stopped);
    }

    @Test
    void warmingUpAFirstNetmapsApplyChangesNothingOnTheHost() throws Exception {
        Host a = host("alpha");
        var nm = Warmup.maps();
        assertThat(dev.lattice.agent.dns.MagicDns.reverseNames(dev.lattice.agent.dns.MagicDnsConfig.from(nm)))
                .as("names for MagicDNS's reverse table to warm up with").isNotEmpty();
        a.backend().warmApply(nm);
        assertThat(a.router().applied).isEmpty();
        assertThat(a.resolver().nameservers).isEmpty();
        assertThat(a.backend().peerApiPorts()).isEmpty();
        assertThat(a.backend().status().backendState()).isEqualTo(BackendState.NeedsLogin);
    }

    @Test
    void aSecondLatticedOnTheSameSocketFailsBeforeTouchingTheHost() throws Exception {
        host("alpha");
        var opened = new java.util.concurrent.atomic.AtomicInteger();
        AgentSystem sys = AgentSystem.linux().withTuns((n, mtu) -> {
            opened.incrementAndGet();
            return new MemoryTun(n, false);
        }).withRouters((t, mtu) -> {
            opened.incrementAndGet();
            return new FakeRouter();
        });
        Path state = dir.resolve("second");
        assertThatThrownBy(() -> LocalBackend.start(new DaemonOptions(state, state.resolve("lattice.state"),
                dir.resolve("alpha").resolve("sock"), "lt-second", 0), sys))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("another latticed is already listening on");
        assertThat(opened).as("TUNs and routers opened").hasValue(0);
    }

    @Test
    void aDownRightAfterAnUpLeavesNothingListening() throws Exception {
        Host a = host("alpha");
        assertThat(a.backend().up(up(control.url(), control.preAuthKey())).state()).isEqualTo(BackendState.Running);
        a.backend().down();
        assertThat(a.backend().peerApiPorts()).isEmpty();
        Thread.sleep(300);
        assertThat(a.backend().peerApiPorts()).as("no listener opened after the down").isEmpty();
    }

    @Test
    void twoBackendsSeeEachOtherAndPingDirectlyOverLoopback() throws Exception {
        Host a = host("alpha");
        Host b = host("bravo");
        String key = control.preAuthKey();
        assertThat(a.backend().up(up(control.url(), key)).state()).isEqualTo(BackendState.Running);
        assertThat(b.backend().up(up(control.url(), key)).state()).isEqualTo(BackendState.Running);
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (a.backend().status().peer().isEmpty() && System.nanoTime() < end) Thread.sleep(50);
        assertThat(a.backend().status().peer().values()).extracting(p -> p.hostName()).containsExactly("bravo");
        // The first pongs may come over DERP; a direct path over loopback follows within a few rounds.
        var pong = a.backend().ping("bravo", Duration.ofSeconds(2));
        while ((pong.err() != null && !pong.err().isEmpty() || pong.endpoint() == null || pong.endpoint().isEmpty())
                && System.nanoTime() < end) {
            Thread.sleep(200);
            pong = a.backend().ping("bravo", Duration.ofSeconds(2));
        }
        assertThat(pong.err()).isNullOrEmpty();
        // Direct, on one of this host's addresses: which one wins (127.0.0.1, ::1 or another interface's) depends on
        // timing and betterAddr's bonuses, and the peer API's Hostinfo update gives the paths another round.
        assertThat(pong.derpRegionId()).as("not via DERP").isZero();
        assertThat(pong.endpoint()).as("a direct path on this host").matches("(\\d+\\.\\d+\\.\\d+\\.\\d+|\\[[0-9a-f:]+\\]):\\d+");
    }

    static String v4(Host h) {
        return h.router().current().localAddrs().stream().filter(IpPrefix::isIPv4).findFirst().orElseThrow()
                .address().getHostAddress();
    }

    /** Sends marker packets from {@code from} to {@code to} until one arrives; returns how long it took. */
    static Duration deliver(Host from, Host to, int marker, Duration within) throws Exception {
        long t0 = System.nanoTime();
        long end = t0 + within.toNanos();
        while (System.nanoTime() < end) {
            // A well-formed UDP packet whose source port carries the marker (the receiver's filter parses it).
            from.tun().fromHost.add(TestPackets.udp(v4(from), v4(to), 40000 + marker, 9));
            byte[] p = to.tun().awaitToHost(300);
            while (p != null) {
                if (p.length >= 28 && ((p[20] & 0xff) << 8 | (p[21] & 0xff)) == 40000 + marker) {
                    return Duration.ofNanos(System.nanoTime() - t0);
                }
                p = to.tun().awaitToHost(0);
            }
        }
        throw new AssertionError("marker " + marker + " did not arrive within " + within);
    }

    @Test
    void aRestartedPeerIsReachedAgainAtOnceNotWhenTheDeadSessionTimesOut() throws Exception {
        Host a = host("alpha");
        Host b = host("bravo");
        String key = control.preAuthKey();
        a.backend().up(up(control.url(), key));
        b.backend().up(up(control.url(), key));
        deliver(a, b, 1, Duration.ofSeconds(10));

        // bravo restarts: same node key and address, a new disco key, and no memory of its WireGuard session.
        b.backend().close();
        hosts.remove("bravo");
        Host b2 = host("bravo");
        assertThat(b2.backend().status().backendState()).isIn(BackendState.Running, BackendState.Starting, BackendState.NoState);
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (b2.router().current().localAddrs().isEmpty() && System.nanoTime() < end) Thread.sleep(50);
        Duration again = deliver(a, b2, 2, Duration.ofSeconds(20));
        System.out.println("[backend] a restarted peer answered again after " + again.toMillis() + " ms");
        // Waiting for alpha's old session to time out would take 15 s (keepalive + rekey timeout).
        assertThat(again).isLessThan(Duration.ofSeconds(5));
    }

    // --- prefs: routes offered, exit node chosen, refusals -------------------------------------------

    static UpRequest upWith(String server, String key, List<String> routes, String exitNodeIp) {
        return new UpRequest(server, key, null, null, null, null, false, routes, exitNodeIp, null, null, null);
    }

    /** The Hostinfo control holds for the node with this hostname, or null. */
    Hostinfo hostinfoAtControl(String hostname) {
        for (var n : control.server.store().nodes().list()) {
            if (hostname.equals(n.hostname()) && n.hostinfo() != null) return n.hostinfo();
        }
        return null;
    }

    static void await(String what, java.util.function.BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("not reached in 15 s: " + what);
            Thread.sleep(50);
        }
    }

    static dev.lattice.wire.tailcfg.Node peerNamed(LocalBackend b, String host) {
        var nm = b.currentNetmap();
        if (nm == null) return null;
        return nm.peers().stream().filter(p -> p.hostinfo() != null && host.equals(p.hostinfo().hostname())).findFirst().orElse(null);
    }

    @Test
    void peerApiIsAdvertisedAndTheExitNodesDohProxyServesMagicDns() throws Exception {
        // alpha offers an exit node (approved at control); bravo uses it.
        Host a = host("alpha");
        Host b = host("bravo");
        String key = control.preAuthKey();
        assertThat(a.backend().up(upWith(control.url(), key, List.of("0.0.0.0/0", "::/0"), null)).state()).isEqualTo(BackendState.Running);
        assertThat(b.backend().up(up(control.url(), key)).state()).isEqualTo(BackendState.Running);
        await("alpha's exit routes at control", () -> {
            Hostinfo h = hostinfoAtControl("alpha");
            return h != null && h.routableIps() != null && h.routableIps().size() == 2;
        });
        control.server.adminApi().approveRoutes(nodeId("alpha"), List.of("0.0.0.0/0", "::/0"));
        await("alpha offering an exit node to bravo", () -> {
            var p = peerNamed(b.backend(), "alpha");
            return p != null && p.allowedIps() != null && p.allowedIps().contains(IpPrefix.parse("0.0.0.0/0"));
        });
        String alphaIp = a.backend().currentNetmap().self().addresses().stream().filter(IpPrefix::isIPv4).findFirst()
                .orElseThrow().address().getHostAddress();
        b.backend().editPrefs(MaskedPrefs.NONE.withExitNodeIp(alphaIp));

        // alpha listens on each of its tailnet addresses, on tailscale's port for it.
        var self = a.backend().currentNetmap().self().addresses();
        var ports = a.backend().peerApiPorts();
        assertThat(ports.keySet()).containsExactlyInAnyOrderElementsOf(self.stream().map(IpPrefix::address).toList());
        ports.forEach((ip, port) -> assertThat(port).as("port of " + ip)
                .isIn(java.util.stream.IntStream.range(0, 5).mapToObj(i -> dev.lattice.agent.peerapi.PeerApiServices.stablePort(ip, i)).toList()));
        InetAddress alpha4 = self.stream().filter(IpPrefix::isIPv4).findFirst().orElseThrow().address();

        // Control passes alpha's services and exit routes on to bravo.
        await("alpha's peer API in bravo's netmap", () -> {
            var p = peerNamed(b.backend(), "alpha");
            return p != null && p.hostinfo().services().contains(new dev.lattice.wire.tailcfg.Service("peerapi4", ports.get(alpha4), null));
        });
        var alpha = peerNamed(b.backend(), "alpha");
        assertThat(alpha.hostinfo().services()).contains(new dev.lattice.wire.tailcfg.Service("peerapi-dns-proxy", 1, null));
        assertThat(alpha.hostinfo().routableIps()).containsExactlyElementsOf(LocalBackend.EXIT_ROUTES);

        // bravo's MagicDNS sends names that are not the tailnet's to alpha's DoH proxy; alpha's own stays as it was.
        java.net.URI doh = java.net.URI.create("http://" + alpha4.getHostAddress() + ":" + ports.get(alpha4) + "/dns-query");
        await("bravo's default DNS route through alpha",
                () -> List.of(new dev.lattice.agent.dns.Upstream.Doh(doh)).equals(b.backend().dnsConfig().routes().get(".")));
        assertThat(b.backend().dnsConfig().hosts()).containsKey("alpha.tailnet.test.");
        assertThat(a.backend().dnsConfig().routes().get("."))
                .containsExactly(new dev.lattice.agent.dns.Upstream.Udp(new InetSocketAddress("9.9.9.9", 53)));

        // down closes the listeners; up opens them again on the same ports.
        a.backend().down();
        assertThat(a.backend().peerApiPorts()).isEmpty();
        assertThat(a.backend().up(up(control.url(), null)).state()).isEqualTo(BackendState.Running);
        await("alpha listening again", () -> a.backend().peerApiPorts().equals(ports));
    }

    long nodeId(String hostname) {
        return control.server.store().nodes().list().stream().filter(n -> hostname.equals(n.hostname())).findFirst()
                .orElseThrow().id();
    }

    @Test
    void offeredRoutesReachControlInHostinfoAndFollowEachChange() throws Exception {
        Host a = host("alpha");
        assertThat(a.backend().up(upWith(control.url(), control.preAuthKey(), List.of("10.1.0.0/24"), null)).state())
                .isEqualTo(BackendState.Running);
        await("RoutableIPs [10.1.0.0/24] at control", () -> {
            Hostinfo h = hostinfoAtControl("alpha");
            return h != null && h.routableIps().equals(List.of(IpPrefix.parse("10.1.0.0/24")));
        });
        var p = a.backend().editPrefs(MaskedPrefs.NONE.withAdvertiseRoutes(List.of("10.1.0.0/24", "0.0.0.0/0", "::/0"))
                .withShieldsUp(true));
        assertThat(p.advertisesExitNode()).isTrue();
        await("exit routes and ShieldsUp at control", () -> {
            Hostinfo h = hostinfoAtControl("alpha");
            return h != null && h.routableIps().contains(IpPrefix.parse("::/0")) && h.shieldsUp();
        });

        // Refused edits change nothing, in memory or on disk.
        Path stateFile = dir.resolve("alpha").resolve(dev.lattice.agent.state.StateStore.FILE);
        byte[] before = java.nio.file.Files.readAllBytes(stateFile);
        record Refusal(MaskedPrefs change, String message) {}
        for (Refusal r : List.of(
                new Refusal(MaskedPrefs.NONE.withAdvertiseRoutes(List.of("10.1.0.1/24")).withShieldsUp(false),
                        "route 10.1.0.1/24 has non-address bits set; expected 10.1.0.0/24"),
                new Refusal(MaskedPrefs.NONE.withExitNodeIp("100.64.0.77"), "Cannot advertise an exit node and use an exit node at the same time."),
                new Refusal(MaskedPrefs.NONE.withAdvertiseRoutes(List.of()).withExitNodeIp("100.64.0.77"),
                        "no node found in netmap with IP 100.64.0.77"))) {
            assertThatThrownBy(() -> a.backend().editPrefs(r.change())).isInstanceOf(BackendException.class)
                    .hasMessage(r.message());
        }
        assertThat(a.backend().prefs()).isEqualTo(p);
        assertThat(java.nio.file.Files.readAllBytes(stateFile)).isEqualTo(before);
    }

    @Test
    void anExitNodeChosenByAddressIsRememberedByIdAndShownInStatus() throws Exception {
        Host a = host("alpha");
        Host b = host("bravo");
        Host c = host("charlie");
        String key = control.preAuthKey();
        b.backend().up(upWith(control.url(), key, List.of("0.0.0.0/0", "::/0"), null));
        c.backend().up(up(control.url(), key));
        a.backend().up(up(control.url(), key));
        await("bravo at control", () -> hostinfoAtControl("bravo") != null && !hostinfoAtControl("bravo").routableIps().isEmpty());
        control.server.adminApi().approveRoutes(nodeId("bravo"), List.of("0.0.0.0/0", "::/0"));
        await("bravo offers an exit node to alpha", () -> a.backend().status().peer().values().stream()
                .anyMatch(ps -> ps.hostName().equals("bravo") && ps.exitNodeOption()));
        PeerStatus bravo = a.backend().status().peer().values().stream().filter(ps -> ps.hostName().equals("bravo")).findFirst().orElseThrow();
        PeerStatus charlie = a.backend().status().peer().values().stream().filter(ps -> ps.hostName().equals("charlie")).findFirst().orElseThrow();

        assertThatThrownBy(() -> a.backend().editPrefs(MaskedPrefs.NONE.withExitNodeIp(charlie.tailscaleIps().getFirst())))
                .hasMessage("node " + charlie.tailscaleIps().getFirst() + " is not advertising an exit node");
        var p = a.backend().editPrefs(MaskedPrefs.NONE.withExitNodeIp(bravo.tailscaleIps().getFirst()).withExitNodeAllowLanAccess(true));
        assertThat(p.exitNodeId()).as("resolved to bravo's stable ID at once").isEqualTo(bravo.id());
        assertThat(p.exitNodeIp()).isNull();
        var st = a.backend().status();
        assertThat(st.exitNodeStatus().id()).isEqualTo(bravo.id());
        assertThat(st.exitNodeStatus().tailscaleIps()).contains(bravo.tailscaleIps().getFirst() + "/32");
        assertThat(st.peer().values()).filteredOn(PeerStatus::exitNode).extracting(PeerStatus::hostName).containsExactly("bravo");

        // An exit node user cannot start offering one.
        assertThatThrownBy(() -> a.backend().editPrefs(MaskedPrefs.NONE.withAdvertiseRoutes(List.of("0.0.0.0/0", "::/0"))))
                .hasMessage("Cannot advertise an exit node and use an exit node at the same time.");
        a.backend().editPrefs(MaskedPrefs.NONE.withExitNodeIp(""));
        assertThat(a.backend().status().exitNodeStatus()).isNull();
    }

    // --- the data plane: routes, AllowedIPs and the filter, end to end over loopback ---------------------

    /** Sends an IPv4/UDP packet from alpha's host into its TUN and says whether bravo's host received it. */
    static boolean delivered(Host from, Host to, String src, String dst, int marker) throws Exception {
        to.tun().toHost.clear();
        from.tun().fromHost.add(MemoryTun.ipv4(src, dst, marker));
        long end = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (System.nanoTime() < end) {
            byte[] p = to.tun().awaitToHost(100);
            if (p != null && p.length >= 32 && java.nio.ByteBuffer.wrap(p, 28, 4).getInt() == marker) return true;
        }
        return false;
    }

    /** Two nodes with a direct path; bravo offers {@code routes}, approved. Returns alpha's, bravo's tailnet IPv4. */
    String[] alphaAndBravo(Host a, Host b, List<String> routes) throws Exception {
        String key = control.preAuthKey();
        b.backend().up(upWith(control.url(), key, routes, null));
        a.backend().up(new UpRequest(control.url(), key, null, null, true, null, false));
        await("bravo's routes at control", () -> hostinfoAtControl("bravo") != null
                && hostinfoAtControl("bravo").routableIps().size() == routes.size());
        control.server.adminApi().approveRoutes(nodeId("bravo"), routes);
        await("bravo's routes reach alpha", () -> a.backend().status().peer().values().stream()
                .anyMatch(ps -> ps.hostName().equals("bravo") && ps.allowedIps().containsAll(routes)));
        String ipA = a.backend().status().tailscaleIps().getFirst(), ipB = b.backend().status().tailscaleIps().getFirst();
        // A first packet both ways, so the path and WireGuard session exist before what the tests look at.
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!delivered(a, b, ipA, ipB, 1)) if (System.nanoTime() > end) throw new AssertionError("no path alpha -> bravo");
        return new String[] {ipA, ipB};
    }

    @Test
    void aSubnetRoutersLanIsReachedThroughItAndShieldsUpClosesIt() throws Exception {
        Host a = host("alpha");
        Host b = host("bravo");
        String[] ips = alphaAndBravo(a, b, List.of("10.1.0.0/24"));
        await("alpha routes 10.1.0.0/24 into the tunnel", () -> a.router().current().routes().contains(IpPrefix.parse("10.1.0.0/24")));
        RouterConfig br = b.router().current();
        assertThat(br.subnetRoutes()).containsExactly(IpPrefix.parse("10.1.0.0/24"));
        assertThat(br.snatSubnetRoutes()).isTrue();
        assertThat(delivered(a, b, ips[0], "10.1.0.5", 2)).as("alpha -> bravo's LAN").isTrue();
        assertThat(delivered(a, b, ips[0], "10.2.0.5", 3)).as("outside what bravo offers").isFalse();

        b.backend().editPrefs(MaskedPrefs.NONE.withNoSnat(true));
        assertThat(b.router().current().snatSubnetRoutes()).isFalse();
        b.backend().editPrefs(MaskedPrefs.NONE.withShieldsUp(true));
        assertThat(delivered(a, b, ips[0], "10.1.0.5", 4)).as("shields up: no new flows in, to the LAN either").isFalse();
        assertThat(delivered(a, b, ips[0], ips[1], 5)).as("shields up: nor to bravo itself").isFalse();
        b.backend().editPrefs(MaskedPrefs.NONE.withShieldsUp(false));
        assertThat(delivered(a, b, ips[0], "10.1.0.5", 6)).isTrue();
    }

    @Test
    void theExitNodeCarriesTheInternetAndTheHookSaysWhichItIs() throws Exception {
        Host a = host("alpha");
        Host b = host("bravo");
        String[] ips = alphaAndBravo(a, b, List.of("0.0.0.0/0", "::/0"));
        List<java.util.Optional<dev.lattice.agent.engine.EngineConfig.ExitNode>> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        a.backend().addExitNodeListener(seen::add);
        assertThat(delivered(a, b, ips[0], "198.51.100.80", 2)).as("no exit node chosen: nothing carries the internet").isFalse();
        assertThat(a.router().current().routes()).doesNotContain(IpPrefix.parse("0.0.0.0/0"));

        a.backend().editPrefs(MaskedPrefs.NONE.withExitNodeIp(ips[1]));
        var exit = a.backend().exitNode().orElseThrow();
        assertThat(exit.addresses()).contains(IpPrefix.parse(ips[1] + "/32"));
        assertThat(exit.key().toString()).isEqualTo(a.backend().status().peer().values().stream()
                .filter(ps -> ps.hostName().equals("bravo")).findFirst().orElseThrow().publicKey());
        assertThat(seen).containsExactly(java.util.Optional.of(exit));
        assertThat(a.router().current().routes()).contains(IpPrefix.parse("0.0.0.0/0"), IpPrefix.parse("::/0"));
        assertThat(delivered(a, b, ips[0], "198.51.100.80", 3)).as("alpha -> the internet via bravo").isTrue();
        assertThat(delivered(a, b, ips[0], "192.168.77.7", 4)).as("bravo keeps private ranges to itself").isFalse();

        a.backend().down();
        assertThat(a.backend().exitNode()).isEmpty();
        assertThat(seen).hasSize(2).last().isEqualTo(java.util.Optional.empty());
    }

    @Test
    void onlyPeersAddressesAreRoutedSoAnUnknownTailnetAddressFailsAtOnce() throws Exception {
        Host a = host("alpha");
        Host b = host("bravo");
        String[] ips = alphaAndBravo(a, b, List.of("10.3.0.0/24"));
        RouterConfig rc = a.router().current();
        assertThat(rc.routes()).contains(IpPrefix.parse(ips[1] + "/32")).doesNotContain(IpPrefix.parse("100.64.0.0/10"));
    }
}
