package dev.lattice.agent.daemon;

import dev.lattice.agent.dns.MagicDnsConfig;
import dev.lattice.agent.engine.EngineConfig;
import dev.lattice.agent.filter.LocalNets;
import dev.lattice.agent.filter.PacketFilter;
import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.ipn.PeerStatus;
import dev.lattice.agent.ipn.Status;
import dev.lattice.agent.ipn.UpRequest;
import dev.lattice.agent.ipn.UpResult;
import dev.lattice.agent.localapi.LocalApiJson;
import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.agent.netmap.NetworkMapBuilder;
import dev.lattice.agent.state.Prefs;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.disco.Disco;
import dev.lattice.wire.disco.DiscoMessage;
import dev.lattice.wire.disco.TxId;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.MapRequest;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.RegisterResponseAuth;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.ts2021.ControlHandshake;
import dev.lattice.wire.ts2021.MapStreamFraming;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The code a first {@code lattice up} runs, run once ahead of it on made-up data: the ts2021 handshake, register and
 * map JSON (Jackson builds a (de)serializer per type on first use, reflectively), the netmap, packet filter, DNS and
 * engine config built from a map response, and the local API's own JSON. Run cold, this took about a second of an
 * {@code up} on the development machine; run here, it is done while latticed waits for its first command.
 * Also the training run of an AOT cache for latticed ({@link #ARG}; off by default, see bin/latticed). Touches no
 * file, socket or network.
 */
public final class Warmup {
    /** latticed's hidden argument for an AOT cache's training run (see bin/latticed). */
    public static final String ARG = "--lattice-aot-training";
    static final String MAPS = "warmup-map.jsonl";

    private Warmup() {}

    /** Runs everything once; a failure is the warm-up's own problem, never the daemon's (thrown only to the caller). */
    public static void run() throws Exception {
        handshake();
        register();
        NetworkMap nm = maps();
        localApi(nm);
        disco();
    }

    /**
     * The disco messages of a first {@code tailscale ping} and of hole punching, sealed and opened as both ends do: run
     * cold (BouncyCastle's XSalsa20 and Poly1305 interpreted), the first ping to a peer that just joined took several
     * milliseconds on each side. {@link #DISCO_ROUNDS} rounds take a few milliseconds here.
     */
    static void disco() throws Exception {
        DiscoPrivateKey a = DiscoPrivateKey.generate();
        DiscoPrivateKey b = DiscoPrivateKey.generate();
        var ab = a.shared(b.publicKey());
        var ba = b.shared(a.publicKey());
        NodePublicKey node = NodePrivateKey.generate().publicKey();
        java.net.InetSocketAddress src = new java.net.InetSocketAddress(java.net.InetAddress.getByAddress(new byte[] {10, 0, 0, 1}), 41641);
        for (int i = 0; i < DISCO_ROUNDS; i++) {
            TxId tx = TxId.random();
            byte[] ping = Disco.seal(new DiscoMessage.Ping(tx, node, 0), a.publicKey(), ab);
            if (!Disco.looksLikeDiscoWrapper(ping) || Disco.source(ping) == null || !(Disco.open(ping, ba) instanceof DiscoMessage.Ping)) {
                throw new IllegalStateException("disco warm-up: a ping did not open");
            }
            Disco.open(Disco.seal(new DiscoMessage.Pong(tx, src), b.publicKey(), ba), ab);
            if (i % 8 == 0) Disco.open(Disco.seal(new DiscoMessage.CallMeMaybe(List.of(src)), a.publicKey(), ab), ba);
        }
        var m = LocalApiJson.mapper();
        m.readValue(m.writeValueAsBytes(new dev.lattice.agent.ipn.PingResult("100.64.0.2", "100.64.0.2", "b", null, 0.001,
                "10.0.0.1:41641", 0, null)), dev.lattice.agent.ipn.PingResult.class);
    }

    static final int DISCO_ROUNDS = 300;

    private static void handshake() throws Exception {
        MachinePrivateKey control = MachinePrivateKey.generate();
        ControlHandshake.Client c = new ControlHandshake.Client(MachinePrivateKey.generate(), control.publicKey(),
                CapabilityVersion.CURRENT);
        ControlHandshake.Accepted a = ControlHandshake.accept(control, c.initiation());
        ControlHandshake.Established e = c.finish(a.response());
        byte[] rec = e.tx().sealRecord(new byte[64], 0, 64);
        a.channel().rx().openRecord(java.util.Arrays.copyOfRange(rec, 3, rec.length));
    }

    private static void register() throws Exception {
        NodePrivateKey node = NodePrivateKey.generate();
        Hostinfo hi = NodeHostinfo.build(LocalBackend.VERSION, Prefs.defaults(), "warmup", List.of());
        byte[] req = Tailcfg.json().writeValueAsBytes(RegisterRequest.builder().version(CapabilityVersion.CURRENT)
                .nodeKey(node.publicKey()).hostinfo(hi).auth(new RegisterResponseAuth(null, null, null, "k")).build());
        Tailcfg.json().readValue(req, RegisterRequest.class);
        String resp = "{\"User\":{\"ID\":1,\"LoginName\":\"warmup\",\"DisplayName\":\"warmup\"},"
                + "\"Login\":{\"ID\":1,\"LoginName\":\"warmup\",\"DisplayName\":\"warmup\"},\"NodeKeyExpired\":false,"
                + "\"MachineAuthorized\":true,\"AuthURL\":\"\"}";
        Tailcfg.json().readValue(resp.getBytes(StandardCharsets.UTF_8), RegisterResponse.class);
        Tailcfg.json().writeValueAsBytes(MapRequest.builder().version(CapabilityVersion.CURRENT).nodeKey(node.publicKey())
                .discoKey(DiscoPrivateKey.generate().publicKey()).hostinfo(hi).endpoints(List.of()).endpointTypes(List.of())
                .stream(true).compress("zstd").build());
    }

    /** The recorded map responses of a two-node tailnet, through the path the map stream takes: the last netmap. */
    static NetworkMap maps() throws Exception {
        byte[] all;
        try (InputStream in = Warmup.class.getResourceAsStream(MAPS)) {
            if (in == null) throw new IOException(MAPS + " missing");
            all = in.readAllBytes();
        }
        NetworkMapBuilder builder = new NetworkMapBuilder();
        NetworkMap nm = null;
        for (String line : new String(all, StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank()) continue;
            byte[] framed = MapStreamFraming.frameWithoutNative(line.getBytes(StandardCharsets.UTF_8));
            byte[] json = MapStreamFraming.decompress(java.util.Arrays.copyOfRange(framed, 4, framed.length));
            NetworkMap next = builder.apply(Tailcfg.json().readValue(json, MapResponse.class));
            if (next != null) nm = next;
        }
        if (nm == null) throw new IOException(MAPS + " made no netmap");
        List<dev.lattice.wire.ip.IpPrefix> self = nm.self().addresses();
        PacketFilter.compile(nm.packetFilter(), LocalNets.of(self, List.of(), List.of()));
        MagicDnsConfig.from(nm);
        EngineConfig.from(nm, EngineConfig.Options.of(false), Instant.now());
        return nm;
    }

    private static void localApi(NetworkMap nm) {
        var m = LocalApiJson.mapper();
        PeerStatus self = new PeerStatus("1", "nodekey:1", "warmup", "warmup.example.", "linux", 1, List.of("100.64.0.1"),
                List.of("100.64.0.1/32"), List.of(), null, List.of(), "", "", 0, 0, null, null, null, true, false, false, false,
                null, false);
        Map<String, PeerStatus> peers = new TreeMap<>(Map.of("nodekey:2", self));
        Status st = new Status(LocalBackend.VERSION, BackendState.Running, null, List.of("100.64.0.1"), self, List.of(),
                nm.domain(), new Status.Tailnet("warmup", "warmup.example.", true), null, peers,
                new TreeMap<>(Map.of("1", new Status.UserProfileJson(1, "warmup", "warmup"))));
        m.readValue(m.writeValueAsBytes(st), Status.class);
        LocalApiJson.indented(st);
        m.readValue(m.writeValueAsBytes(Prefs.defaults()), Prefs.class);
        m.readValue(m.writeValueAsBytes(new UpRequest("http://x", "k", "h", List.of("tag:a"), true, false, false)), UpRequest.class);
        m.readValue(m.writeValueAsBytes(new UpResult(BackendState.Running, null)), UpResult.class);
    }
}
