package dev.lattice.control.netmap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Node;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A peer whose routes differ by viewer (via grants steer groups to different routers) is built once per set of routes
 * and shared by every viewer of that set, not rebuilt each time a viewer of the other group asks; a new version of the
 * node drops all its variants.
 */
class PeerViewsTest {
    @TempDir
    Path dir;

    @Test
    void eachRouteVariantIsBuiltOnceAndSharedUntilTheNodeChanges() {
        Store store = Store.openSqlite(dir.resolve("db.sqlite"), Clock.systemUTC());
        IpAllocator ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
        Tailnet tailnet = new Tailnet(store, ips, Clock.systemUTC());
        long uid = store.users().create("u", null, null).id();
        IpAllocator.Addresses a = ips.allocate();
        TailnetNode router = tailnet.add(TailnetNode.builder().machineKey(MachinePrivateKey.generate().publicKey())
                .nodeKey(NodePrivateKey.generate().publicKey()).discoKey(DiscoPrivateKey.generate().publicKey())
                .hostname("router").givenName("router").userId(uid).addresses(a.v4(), a.v6()).build());
        PeerViews views = new PeerViews(tailnet, new TailcfgNodes(tailnet, "example.test"), true);
        int cv = CapabilityVersion.CURRENT;
        List<IpPrefix> groupA = List.of(IpPrefix.parse("10.44.0.0/16")), groupB = List.of();

        Node forA = views.peer(router, cv, groupA);
        Node forB = views.peer(router, cv, groupB);
        assertThat(forB).isNotSameAs(forA);
        assertThat(forA.allowedIps()).contains(groupA.getFirst());
        assertThat(forB.allowedIps()).doesNotContain(groupA.getFirst());
        // Viewers of both groups in turn: each gets its group's instance (one encoding per group downstream).
        for (int i = 0; i < 3; i++) {
            assertThat(views.peer(router, cv, groupA)).isSameAs(forA);
            assertThat(views.peer(router, cv, groupB)).isSameAs(forB);
        }
        TailnetNode renamed = tailnet.update(router.id(), Change.Kind.UPDATED, n -> n.toBuilder().givenName("router2").build()).orElseThrow();
        Node after = views.peer(renamed, cv, groupA);
        assertThat(after).isNotSameAs(forA);
        assertThat(after.name()).startsWith("router2.");
        assertThat(views.peer(renamed, cv, groupA)).isSameAs(after);
    }
}
