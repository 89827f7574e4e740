package dev.lattice.control.server;

import dev.lattice.controlclient.ControlChannel;
import dev.lattice.controlclient.MapStream;
import dev.lattice.controlclient.ServerKey;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.MapRequest;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.RegisterResponseAuth;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A simulated Tailscale client speaking the real protocol: machine/node/disco keys and one ts2021 channel. */
final class TestMachine implements AutoCloseable {
    final MachinePrivateKey machineKey;
    NodePrivateKey nodeKey = NodePrivateKey.generate();
    final DiscoPrivateKey discoKey = DiscoPrivateKey.generate();
    final String hostname;
    final ControlChannel channel;
    final LinkedBlockingQueue<MapResponse> received = new LinkedBlockingQueue<>();
    MapStream stream;
    /** Extra Hostinfo fields (RequestTags, RoutableIPs) sent with register and map requests. */
    java.util.function.UnaryOperator<Hostinfo> hostinfoExtra = h -> h;

    TestMachine(EventLoopGroup group, URI server, String hostname) throws Exception {
        this(group, server, hostname, CapabilityVersion.CURRENT);
    }

    TestMachine(EventLoopGroup group, URI server, String hostname, int capVer) throws Exception {
        this(group, server, hostname, capVer, false);
    }

    /** @param webSocket ts2021 inside a WebSocket, as tailscale's browser client dials */
    TestMachine(EventLoopGroup group, URI server, String hostname, int capVer, boolean webSocket) throws Exception {
        this(group, server, hostname, capVer, webSocket, MachinePrivateKey.generate());
    }

    /** The same machine ({@code other}'s machine and node keys) on a channel of its own to {@code server}. */
    TestMachine(EventLoopGroup group, URI server, TestMachine other) throws Exception {
        this(group, server, other.hostname, CapabilityVersion.CURRENT, false, other.machineKey);
        this.nodeKey = other.nodeKey;
    }

    private TestMachine(EventLoopGroup group, URI server, String hostname, int capVer, boolean webSocket,
            MachinePrivateKey machineKey) throws Exception {
        this.machineKey = machineKey;
        this.hostname = hostname;
        MachinePublicKey controlKey = ServerKey.fetch(server, capVer);
        this.channel = (webSocket ? ControlChannel.connectWebSocket(group, server, null, machineKey, controlKey, capVer)
                : ControlChannel.connect(group, server, null, machineKey, controlKey, capVer)).get(10, TimeUnit.SECONDS);
    }

    Hostinfo hostinfo() {
        return hostinfoExtra.apply(Hostinfo.empty().withHostname(hostname).withOs("linux"));
    }

    ControlChannel.Response post(String path, Object body) throws Exception {
        return channel.request(HttpMethod.POST, path, Tailcfg.json().writeValueAsBytes(body)).get(10, TimeUnit.SECONDS);
    }

    RegisterResponse register(String authKey) throws Exception {
        RegisterRequest req = RegisterRequest.builder()
                .version(CapabilityVersion.CURRENT)
                .nodeKey(nodeKey.publicKey())
                .hostinfo(hostinfo())
                .auth(authKey == null ? null : new RegisterResponseAuth(null, null, null, authKey))
                .build();
        return registerRaw(req);
    }

    RegisterResponse registerRaw(RegisterRequest req) throws Exception {
        ControlChannel.Response r = post("/machine/register", req);
        if (r.status() != 200) throw new IllegalStateException("register: HTTP " + r.status() + ": " + r.bodyText());
        return Tailcfg.json().readValue(r.body(), RegisterResponse.class);
    }

    MapRequest.Builder mapRequest() {
        return MapRequest.builder().version(CapabilityVersion.CURRENT).nodeKey(nodeKey.publicKey())
                .discoKey(discoKey.publicKey()).hostinfo(hostinfo()).compress("zstd");
    }

    void openStream() throws Exception {
        stream = channel.stream("/machine/map", Tailcfg.json().writeValueAsBytes(mapRequest().stream(true).build()), true,
                json -> {
                    MapResponse m = Tailcfg.json().readValue(json, MapResponse.class);
                    view.apply(m);
                    received.add(m);
                }).get(10, TimeUnit.SECONDS);
    }

    /** The netmap as a client holds it: full maps replace it, deltas change it (as tailscale's mapSession). */
    static final class View {
        final java.util.Map<Long, dev.lattice.wire.tailcfg.Node> peers = new java.util.TreeMap<>();
        List<dev.lattice.wire.tailcfg.FilterRule> filter = List.of();
        dev.lattice.wire.tailcfg.Node self;

        synchronized void apply(MapResponse m) {
            if (m.node() != null) self = m.node();
            if (m.peers() != null) {
                peers.clear();
                m.peers().forEach(n -> peers.put(n.id(), n));
            }
            if (m.peersChanged() != null) m.peersChanged().forEach(n -> peers.put(n.id(), n));
            if (m.peersRemoved() != null) m.peersRemoved().forEach(peers::remove);
            if (m.peersChangedPatch() != null) {
                // Online and last seen, as tailscale's mapSession applies a patch (what else a patch carries is not kept).
                for (dev.lattice.wire.tailcfg.PeerChange c : m.peersChangedPatch()) {
                    dev.lattice.wire.tailcfg.Node n = peers.get(c.nodeId());
                    if (n == null) continue;
                    var b = n.toBuilder();
                    if (c.online() != null) b.online(c.online());
                    if (c.lastSeen() != null) b.lastSeen(c.lastSeen());
                    peers.put(n.id(), b.build());
                }
            }
            if (m.packetFilter() != null) filter = m.packetFilter();
        }

        synchronized boolean hasPeer(String name) {
            return TestMachine.hasPeer(List.copyOf(peers.values()), name);
        }

        synchronized dev.lattice.wire.tailcfg.Node peer(String name) {
            return peers.values().stream().filter(n -> n.name().startsWith(name + ".")).findFirst().orElse(null);
        }

        synchronized dev.lattice.wire.tailcfg.Node peer(long id) {
            return peers.get(id);
        }

        synchronized List<String> sources() {
            return filter.stream().flatMap(f -> f.srcIps().stream()).toList();
        }
    }

    final View view = new View();

    /** Waits until the accumulated netmap satisfies {@code p}, consuming messages meanwhile. */
    View awaitView(Duration timeout, Predicate<View> p) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!p.test(view)) {
            long left = end - System.nanoTime();
            if (left <= 0) throw new AssertionError(hostname + ": netmap did not get there within " + timeout + "; peers "
                    + view.peers.keySet() + ", filter sources " + view.sources());
            received.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)), TimeUnit.NANOSECONDS);
        }
        return view;
    }

    /** Waits for a non-keepalive message matching {@code p}, skipping others. */
    MapResponse await(Duration timeout, Predicate<MapResponse> p) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = end - System.nanoTime();
            if (left <= 0) throw new AssertionError(hostname + ": no matching map message within " + timeout);
            MapResponse m = received.poll(left, TimeUnit.NANOSECONDS);
            if (m != null && !Boolean.TRUE.equals(m.keepAlive()) && p.test(m)) return m;
        }
    }

    static boolean hasPeer(List<dev.lattice.wire.tailcfg.Node> nodes, String name) {
        return nodes != null && nodes.stream().anyMatch(n -> n.name().startsWith(name + "."));
    }

    @Override
    public void close() {
        if (stream != null) stream.close();
        channel.close();
    }
}
