package dev.lattice.control.mapping;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.auth.RouteApprovals;
import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.machine.CountingSinks;
import dev.lattice.control.machine.HttpError;
import dev.lattice.control.netmap.MapSessions;
import dev.lattice.control.netmap.TailcfgNodes;
import dev.lattice.control.noise.ControlSession;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.MapRequest;
import dev.lattice.wire.tailcfg.NetInfo;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What a lite map request stores and how it is announced: a patch when peers need only that, else the whole node. */
class MapRequestsTest {
    static final Hostinfo BASE = Tailcfg.json().readValue("{\"Hostname\":\"laptop\",\"OS\":\"linux\",\"Future\":{\"x\":1},"
            + "\"NetInfo\":{\"PreferredDERP\":1,\"LinkType\":\"wired\"}}", Hostinfo.class);
    static final AddrPort EP = AddrPort.parse("192.0.2.1:41641");

    @TempDir
    Path dir;
    Store store;
    Tailnet tailnet;
    MapSessions sessions;
    MapRequests maps;
    final MachinePrivateKey machine = MachinePrivateKey.generate();
    final NodePublicKey nodeKey = NodePrivateKey.generate().publicKey();
    final List<Change> announced = new ArrayList<>();
    TailnetNode node;

    @BeforeEach
    void start() {
        store = Store.openSqlite(dir.resolve("db.sqlite"), Clock.systemUTC());
        IpAllocator ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
        tailnet = new Tailnet(store, ips, Clock.systemUTC());
        long uid = store.users().create("alice", null, null).id();
        IpAllocator.Addresses a = ips.allocate();
        node = tailnet.add(TailnetNode.builder().machineKey(machine.publicKey()).nodeKey(nodeKey).hostname("laptop")
                .givenName("laptop").userId(uid).addresses(a.v4(), a.v6()).hostinfo(BASE).endpoints(List.of(EP)).build());
        sessions = new MapSessions(tailnet, new TailcfgNodes(tailnet, "example.test"), () -> null, () -> null, "example.test");
        maps = new MapRequests(tailnet, new RouteApprovals(tailnet, Optional::empty), sessions);
        tailnet.addListener(announced::addAll);
    }

    @AfterEach
    void stop() {
        sessions.close();
        store.close();
    }

    void lite(UnaryOperator<MapRequest.Builder> f) {
        MapRequest req = f.apply(MapRequest.builder().version(CapabilityVersion.CURRENT).nodeKey(nodeKey).stream(false)
                .omitPeers(true)).build();
        maps.map(new ControlSession(machine.publicKey(), CapabilityVersion.CURRENT, null), req,
                CountingSinks.open(new LongAdder(), new LongAdder()));
    }

    static Stream<Arguments> reports() {
        NetInfo otherDerp = BASE.netInfo().withPreferredDerp(2);
        DiscoPublicKey disco = DiscoPrivateKey.generate().publicKey();
        return Stream.of(
                Arguments.of("the same Hostinfo again", (UnaryOperator<MapRequest.Builder>) b -> b.hostinfo(BASE), null),
                Arguments.of("no Hostinfo: the stored one stays", (UnaryOperator<MapRequest.Builder>) b -> b, null),
                Arguments.of("a new home DERP (NetInfo only)",
                        (UnaryOperator<MapRequest.Builder>) b -> b.hostinfo(BASE.withNetInfo(otherDerp)), Change.Kind.PATCH),
                Arguments.of("NetInfo gone", (UnaryOperator<MapRequest.Builder>) b -> b.hostinfo(BASE.with("NetInfo", null)),
                        Change.Kind.PATCH),
                Arguments.of("new endpoints", (UnaryOperator<MapRequest.Builder>) b -> b.endpoints(
                        List.of(AddrPort.parse("[2001:db8::1]:41641"))), Change.Kind.PATCH),
                Arguments.of("a new disco key", (UnaryOperator<MapRequest.Builder>) b -> b.discoKey(disco),
                        Change.Kind.PATCH),
                Arguments.of("another OS", (UnaryOperator<MapRequest.Builder>) b -> b.hostinfo(BASE.withOs("windows")),
                        Change.Kind.UPDATED),
                Arguments.of("a field this server does not know",
                        (UnaryOperator<MapRequest.Builder>) b -> b.hostinfo(BASE.with("Future", List.of(2))), Change.Kind.UPDATED),
                Arguments.of("a new hostname", (UnaryOperator<MapRequest.Builder>) b -> b.hostinfo(BASE.withHostname("desk")),
                        Change.Kind.UPDATED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("reports")
    void aReportIsStoredAndAnnouncedInTheCheapestForm(String name, UnaryOperator<MapRequest.Builder> report,
            Change.Kind expected) {
        MapRequest req = report.apply(MapRequest.builder()).build();
        lite(report);
        TailnetNode stored = tailnet.node(node.id()).orElseThrow();
        assertThat(announced).isEqualTo(expected == null ? List.of() : List.of(new Change(expected, node.id())));
        assertThat(stored.hostinfo()).isEqualTo(req.hostinfo() == null ? BASE : req.hostinfo());
        assertThat(stored.endpoints()).isEqualTo(req.endpoints() == null ? List.of(EP) : req.endpoints());
        if (req.discoKey() != null) assertThat(stored.discoKey()).isEqualTo(req.discoKey());
        // What the store holds is what the tailnet holds: the report was stored, not only kept in memory.
        assertThat(store.nodes().get(node.id())).contains(stored);
    }

    @Test
    void aNewHostnameRenamesTheNode() {
        lite(b -> b.hostinfo(BASE.withHostname("Joe's Desk")));
        TailnetNode stored = tailnet.node(node.id()).orElseThrow();
        assertThat(stored.hostname()).isEqualTo("Joe's Desk");
        assertThat(stored.givenName()).isEqualTo("joes-desk");
    }

    @Test
    void onlyTheMachinesOwnNodeIsMapped() {
        assertThatThrownBy(() -> lite(b -> b.nodeKey(null))).isInstanceOfSatisfying(HttpError.class,
                e -> assertThat(e.status()).isEqualTo(400));
        assertThatThrownBy(() -> lite(b -> b.nodeKey(NodePrivateKey.generate().publicKey())))
                .isInstanceOfSatisfying(HttpError.class, e -> assertThat(e.status()).isEqualTo(404));
        MapRequest req = MapRequest.builder().version(CapabilityVersion.CURRENT).nodeKey(nodeKey).stream(false).build();
        assertThatThrownBy(() -> maps.map(new ControlSession(MachinePrivateKey.generate().publicKey(), CapabilityVersion.CURRENT,
                null), req, CountingSinks.open(new LongAdder(), new LongAdder())))
                .isInstanceOfSatisfying(HttpError.class, e -> assertThat(e.status()).isEqualTo(404));
        assertThat(announced).isEmpty();
    }
}
