package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.ipn.BackendState;
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
        RouterConfig rc = a.router().current();
        assertThat(rc.localAddrs()).hasSize(2).allMatch(p -> p.bits() == 32 || p.bits() == 128);
        assertThat(rc.routes()).contains(IpPrefix.parse("100.64.0.0/10"), IpPrefix.parse("fd7a:115c:a1e0::/48"));
        assertThat(a.resolver().nameservers).containsExactly(InetAddress.getByName("100.100.100.100"));
        assertThat(a.resolver().search).contains("tailnet.test.");

        a.backend().down();
        assertThat(a.router().current()).isEqualTo(RouterConfig.EMPTY);
        assertThat(a.resolver().nameservers).as("host resolver restored on down").isEmpty();
        assertThat(a.backend().status().backendState()).isEqualTo(BackendState.Stopped);
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

    /** Polls {@code cond} for up to 10 s. */
    static void await(String what, java.util.function.BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError(what + " not reached in 10 s");
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
        // alpha offers an exit node; bravo uses it (both through the test knobs until the prefs exist).
        Host a = host("alpha", Map.of(LocalBackend.DEBUG_ADVERTISE_EXIT_NODE, "1"));
        Host b = host("bravo", Map.of(LocalBackend.DEBUG_EXIT_NODE, "alpha"));
        String key = control.preAuthKey();
        assertThat(a.backend().up(up(control.url(), key)).state()).isEqualTo(BackendState.Running);
        assertThat(b.backend().up(up(control.url(), key)).state()).isEqualTo(BackendState.Running);

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
}
