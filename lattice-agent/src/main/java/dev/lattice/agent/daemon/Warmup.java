package dev.lattice.agent.daemon;

import dev.lattice.agent.cli.QuickCli;
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
import dev.lattice.agent.router.LinuxRouter;
import dev.lattice.agent.router.Netlink;
import dev.lattice.agent.router.RouterConfig;
import dev.lattice.agent.router.Sysctls;
import dev.lattice.agent.state.Prefs;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.disco.Disco;
import dev.lattice.wire.disco.DiscoMessage;
import dev.lattice.wire.disco.TxId;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.netlink.NetlinkMessage.Ack;
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
 * engine config built from a map response, the local API's own JSON, a plain {@code up}'s command line and the router's
 * changes (on a made-up kernel). Run cold, this took about a second of an
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
        cliUp();
        router();
    }

    /** A plain {@code lattice up}'s command line, as latticed's CLI route parses it (its duration, route and key flags). */
    static void cliUp() {
        if (QuickCli.accept(List.of("up", "--login-server=http://127.0.0.1:8080", "--authkey=tskey-auth-warmup",
                "--hostname=warmup", "--accept-dns=false", "--advertise-routes=10.0.0.0/24", "--timeout=30s")).isEmpty()) {
            throw new IllegalStateException("CLI warm-up: a plain up was not taken");
        }
    }

    /**
     * The router's change code (its operations by difference, the netlink changes and their lines) against a made-up
     * kernel that takes everything: a first {@code up}'s apply ran it cold.
     */
    static void router() throws IOException {
        Netlink kernel = new Netlink() {
            @Override
            public void linkUp(String dev, int mtu) {}

            @Override
            public int rule(boolean add, boolean v6, LinuxRouter.Rule rule) {
                return add ? 0 : 2; // ENOENT: no rule left by an earlier run
            }

            @Override
            public int flushTable(boolean v6, int table) {
                return 0;
            }

            @Override
            public List<Ack> apply(List<Netlink.Change> changes) {
                return changes.stream().map(c -> new Ack(0, 0, null)).toList();
            }

            @Override
            public void close() {}
        };
        Sysctls sysctls = new Sysctls() {
            @Override
            public String get(String path) {
                return "0";
            }

            @Override
            public void set(String path, String value) {}
        };
        LinuxRouter r = new LinuxRouter("warmup0", 1280, kernel, (argv, stdin) -> new LinuxRouter.Result(0, ""), sysctls);
        try {
            List<IpPrefix> self = List.of(IpPrefix.parse("100.64.0.1/32"), IpPrefix.parse("fd7a:115c:a1e0::1/128"));
            r.set(new RouterConfig(self, List.of(IpPrefix.parse("100.64.0.2/32"), IpPrefix.parse("fd7a:115c:a1e0::2/128"))));
            r.set(new RouterConfig(self, List.of(IpPrefix.parse("100.64.0.3/32"), IpPrefix.parse("fd7a:115c:a1e0::3/128"))));
        } finally {
            r.close();
        }
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
