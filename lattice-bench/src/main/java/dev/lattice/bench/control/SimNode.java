package dev.lattice.bench.control;

import dev.lattice.controlclient.ControlChannel;
import dev.lattice.controlclient.MapStream;
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
import dev.lattice.wire.ts2021.ControlProtocolException;
import dev.lattice.wire.ts2021.MapStreamFraming;
import java.net.URI;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A simulated node speaking the real protocol: ts2021 channel, register with a key, zstd map stream. */
final class SimNode implements AutoCloseable {
    final String name;
    final MachinePrivateKey machineKey = MachinePrivateKey.generate();
    final NodePrivateKey nodeKey = NodePrivateKey.generate();
    final DiscoPrivateKey discoKey = DiscoPrivateKey.generate();
    CompletableFuture<Void> gotFullMap = new CompletableFuture<>();
    /** Peers in the first (full) map of the current stream; -1 before it. */
    volatile int fullPeers = -1;
    /** Hears a later message of the stream: when its last byte arrived, and its body as sent (zstd). */
    interface Listener {
        void message(SimNode node, long arrivedNanos, byte[] body);
    }

    /** Nobody listening: later messages are not even decompressed (see {@link #openStream}). */
    static final Listener NOBODY = (n, t, b) -> {};
    volatile Listener listener = NOBODY;
    ControlChannel channel;
    MapStream stream;

    /** Epoll where Netty's native transport loads: the generator shares the machine with the server it measures. */
    static final boolean EPOLL = io.netty.channel.epoll.Epoll.isAvailable();

    /** Event loops for simulated nodes: epoll's if available (see {@link #EPOLL}), else NIO's. */
    static EventLoopGroup eventLoops(int threads) {
        return new io.netty.channel.MultiThreadIoEventLoopGroup(threads, EPOLL ? io.netty.channel.epoll.EpollIoHandler.newFactory()
                : io.netty.channel.nio.NioIoHandler.newFactory());
    }

    SimNode(String name) {
        this.name = name;
    }

    void connect(EventLoopGroup group, URI server, MachinePublicKey controlKey) throws Exception {
        connect(group, server, controlKey, 30);
    }

    /** With a longer wait for the handshake: in a storm the server (and this generator) are saturated. */
    void connect(EventLoopGroup group, URI server, MachinePublicKey controlKey, int timeoutSeconds) throws Exception {
        channel = ControlChannel.connect(group, server, null, machineKey, controlKey, CapabilityVersion.CURRENT, null,
                        b -> b.channel(EPOLL ? io.netty.channel.epoll.EpollSocketChannel.class
                                : io.netty.channel.socket.nio.NioSocketChannel.class))
                .get(timeoutSeconds, TimeUnit.SECONDS);
    }

    Hostinfo hostinfo() {
        return Hostinfo.empty().withHostname(name).withOs("linux");
    }

    void register(String authKey) throws Exception {
        RegisterRequest req = RegisterRequest.builder().version(CapabilityVersion.CURRENT).nodeKey(nodeKey.publicKey())
                .hostinfo(hostinfo()).auth(new RegisterResponseAuth(null, null, null, authKey)).build();
        var r = channel.request(HttpMethod.POST, "/machine/register", Tailcfg.json().writeValueAsBytes(req)).get(60, TimeUnit.SECONDS);
        RegisterResponse rr = Tailcfg.json().readValue(r.body(), RegisterResponse.class);
        if (r.status() != 200 || !Boolean.TRUE.equals(rr.machineAuthorized())) {
            throw new IllegalStateException(name + ": register failed: " + r.status() + " " + r.bodyText());
        }
    }

    MapRequest.Builder mapRequest() {
        return MapRequest.builder().version(CapabilityVersion.CURRENT).nodeKey(nodeKey.publicKey())
                .discoKey(discoKey.publicKey()).hostinfo(hostinfo()).compress("zstd");
    }

    void openStream() throws Exception {
        // The bodies as they come (zstd), decompressed here: the full map is counted frame by frame.
        stream = channel.stream("/machine/map", Tailcfg.json().writeValueAsBytes(mapRequest().stream(true).build()), false,
                body -> {
                    // Keep-alives may come before the full map (the server makes a stream wait for room in a storm).
                    if (body.length < 64 && isKeepAlive(decompress(body))) return;
                    if (!gotFullMap.isDone()) {
                        // The first message of a stream is the full map. Counted, not parsed: in a storm of N nodes
                        // the load generator shares the machine with the server, and parsing N maps of N peers
                        // would take it more CPU than the server spends on them.
                        fullPeers = countPeersCompressed(body);
                        gotFullMap.complete(null);
                        return;
                    }
                    // During a storm every reconnect reaches every open stream as a delta; parsing each of them
                    // in every simulated node was a quarter of the generator's CPU, and nobody reads them then.
                    Listener l = listener;
                    if (l != NOBODY) l.message(this, System.nanoTime(), body);
                }).get(30, TimeUnit.SECONDS);
    }

    private static boolean isKeepAlive(byte[] json) {
        return new String(json, java.nio.charset.StandardCharsets.UTF_8).equals("{\"KeepAlive\":true}");
    }

    /** A message body as {@link Listener} gets it, decoded. */
    static MapResponse parse(byte[] body) {
        return Tailcfg.json().readValue(decompress(body), MapResponse.class);
    }

    private static byte[] decompress(byte[] body) {
        try {
            return MapStreamFraming.decompress(body);
        } catch (ControlProtocolException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * StableIDs per distinct zstd frame, shared by all simulated nodes. lattice-control sends a full map as frames of
     * which most are the same bytes for every node (runs of peers); decompressing them once per distinct frame rather
     * than once per node keeps the generator's share of the machine small (at 10,000 nodes a storm's maps are 76 GB
     * of JSON). Equal compressed bytes decompress to equal JSON, so the count is the same. A frame is looked up in
     * place (hashed from a few of its bytes, then compared whole), not copied out of the message first.
     */
    private static final ConcurrentHashMap<Frame, Integer> FRAME_PEERS = new ConcurrentHashMap<>();

    /** A frame's bytes {@code [from, to)} of {@code bytes}: stored ones are copies, lookups point into a message. */
    private record Frame(byte[] bytes, int from, int to, int hash) {
        static Frame of(byte[] b, int from, int to) {
            // Length and a few bytes past the header: different runs differ there; equals compares all of it.
            int h = to - from;
            for (int i = from + 16; i < Math.min(to, from + 80); i++) h = 31 * h + b[i];
            return new Frame(b, from, to, h);
        }

        Frame copy() {
            return new Frame(Arrays.copyOfRange(bytes, from, to), 0, to - from, hash);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Frame f && f.hash == hash && Arrays.equals(f.bytes, f.from, f.to, bytes, from, to);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** Nodes in a compressed map message but its own, counted frame by frame (see {@link #countPeers}). */
    static int countPeersCompressed(byte[] body) {
        int count = 0;
        for (int at = 0; at < body.length; ) {
            int end = ZstdFrames.end(body, at);
            // A StableID key never spans two frames: lattice-control cuts frames between peers.
            boolean edge = at == 0 || end == body.length; // the head (own node) and tail: this node's alone
            if (edge) {
                count += stableIds(decompress(Arrays.copyOfRange(body, at, end)));
            } else {
                Frame f = Frame.of(body, at, end);
                Integer known = FRAME_PEERS.get(f);
                if (known == null) {
                    Frame c = f.copy();
                    known = stableIds(decompress(c.bytes()));
                    if (FRAME_PEERS.size() > 200_000) FRAME_PEERS.clear();
                    FRAME_PEERS.put(c, known);
                }
                count += known;
            }
            at = end;
        }
        return count - 1;
    }

    private static final byte[] STABLE_ID = "\"StableID\":".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Nodes in a map message but its own: each node (self and peers) has exactly one StableID key, at its top level. */
    static int countPeers(byte[] json) {
        return stableIds(json) - 1;
    }

    private static int stableIds(byte[] json) {
        int count = 0;
        outer:
        for (int i = 0; i + STABLE_ID.length <= json.length; i++) {
            for (int j = 0; j < STABLE_ID.length; j++) if (json[i + j] != STABLE_ID[j]) continue outer;
            count++;
        }
        return count;
    }

    /** Drops the connection (as a server restart would) so that {@link #connect} and {@link #openStream} start over. */
    void disconnect() {
        close();
        channel = null;
        stream = null;
        gotFullMap = new CompletableFuture<>();
        fullPeers = -1;
    }

    int lite(MapRequest req) throws Exception {
        return channel.request(HttpMethod.POST, "/machine/map", Tailcfg.json().writeValueAsBytes(req)).get(30, TimeUnit.SECONDS).status();
    }

    @Override
    public void close() {
        if (channel != null) channel.close();
    }
}
