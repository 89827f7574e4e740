package dev.lattice.control.netmap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Hostinfo;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Subnet router failover: one primary per prefix, the router online longest (so sticky while online), re-elected
 * when it goes offline.
 */
class PrimaryRoutesTest {
    static final IpPrefix LAN = IpPrefix.parse("10.1.0.0/16"), EXIT = IpPrefix.parse("0.0.0.0/0");

    @TempDir
    Path dir;

    @Test
    void onePrimaryPerPrefixStickyWhileOnlineAndFailingOverWhenOffline() {
        try (Store store = Store.openSqlite(dir.resolve("db.sqlite"), Clock.systemUTC())) {
            IpAllocator ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
            Tailnet tailnet = new Tailnet(store, ips, Clock.systemUTC());
            TailcfgNodes nodes = new TailcfgNodes(tailnet, "example.test");
            long uid = store.users().create("u", null, null).id();
            TailnetNode r1 = tailnet.add(router(ips, "r1", uid, LAN, EXIT));
            TailnetNode r2 = tailnet.add(router(ips, "r2", uid, LAN, EXIT));
            PrimaryRoutes primaries = new PrimaryRoutes(tailnet, nodes::activeRoutes);
            nodes.usePrimaryRoutes(primaries);
            List<Long> announced = new CopyOnWriteArrayList<>();
            tailnet.addListener(cs -> cs.stream().filter(c -> c.kind() == Change.Kind.UPDATED).forEach(c -> announced.add(c.nodeId())));

            assertThat(primaries.primaries()).as("nobody online serves it").isEmpty();
            assertThat(nodes.servedRoutes(cur(tailnet, r1))).as("exit routes are not elected").containsExactly(EXIT);

            var r2online = tailnet.streamOpened(r2.id());
            var r1online = tailnet.streamOpened(r1.id());
            assertThat(primaries.primaries()).containsEntry(LAN, r2.id()).as("r2 came first and stays, though r1 has the lower id");
            assertThat(nodes.servedRoutes(cur(tailnet, r2))).containsExactly(LAN, EXIT);
            assertThat(nodes.servedRoutes(cur(tailnet, r1))).containsExactly(EXIT);

            announced.clear();
            r2online.close();
            assertThat(primaries.primaries()).containsEntry(LAN, r1.id());
            assertThat(announced).as("both routers are sent again with their new AllowedIPs").contains(r1.id(), r2.id());

            r2online = tailnet.streamOpened(r2.id());
            assertThat(primaries.primaries()).as("no flapping back").containsEntry(LAN, r1.id());

            r1online.close();
            r2online.close();
            assertThat(primaries.primaries()).isEmpty();

            tailnet.streamOpened(r1.id());
            tailnet.streamOpened(r2.id());
            assertThat(primaries.primaries()).as("lowest id when neither was primary").containsEntry(LAN, r1.id());
            // Approval withdrawn from the primary: the other takes over.
            tailnet.update(r1.id(), Change.Kind.UPDATED, n -> n.toBuilder().approvedRoutes(List.of(EXIT)).build());
            assertThat(primaries.primaries()).containsEntry(LAN, r2.id());
        }
    }

    @Test
    void onFailoverTheStandbyOnlineLongestTakesOverAndRemotePeriodsCount() {
        // Every reading of this clock is a second later: each stream opens at a distinct time.
        Clock ticking = new Clock() {
            java.time.Instant now = java.time.Instant.parse("2026-01-01T00:00:00Z");

            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public synchronized java.time.Instant instant() {
                return now = now.plusSeconds(1);
            }
        };
        try (Store store = Store.openSqlite(dir.resolve("db.sqlite"), ticking)) {
            IpAllocator ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
            Tailnet tailnet = new Tailnet(store, ips, ticking);
            TailcfgNodes nodes = new TailcfgNodes(tailnet, "example.test");
            long uid = store.users().create("u", null, null).id();
            TailnetNode r1 = tailnet.add(router(ips, "r1", uid, LAN));
            TailnetNode r2 = tailnet.add(router(ips, "r2", uid, LAN));
            TailnetNode r3 = tailnet.add(router(ips, "r3", uid, LAN));
            PrimaryRoutes primaries = new PrimaryRoutes(tailnet, nodes::activeRoutes);
            nodes.usePrimaryRoutes(primaries);

            var r1online = tailnet.streamOpened(r1.id());
            tailnet.streamOpened(r3.id());
            tailnet.streamOpened(r2.id());
            assertThat(primaries.primaries()).containsEntry(LAN, r1.id());
            r1online.close();
            assertThat(primaries.primaries()).as("r3 has been online longer than r2").containsEntry(LAN, r3.id());

            // Online through another replica since before anyone here: the longest of all.
            tailnet.remoteSessions(java.util.Map.of(r1.id(), java.time.Instant.parse("2025-12-31T00:00:00Z")));
            assertThat(primaries.primaries()).containsEntry(LAN, r1.id());
            java.util.Map<Long, java.time.Instant> gone = new java.util.HashMap<>();
            gone.put(r1.id(), null);
            tailnet.remoteSessions(gone);
            assertThat(primaries.primaries()).containsEntry(LAN, r3.id());
        }
    }

    static TailnetNode cur(Tailnet t, TailnetNode n) {
        return t.node(n.id()).orElseThrow();
    }

    static TailnetNode router(IpAllocator ips, String name, long uid, IpPrefix... routes) {
        IpAllocator.Addresses a = ips.allocate();
        return TailnetNode.builder()
                .machineKey(MachinePrivateKey.generate().publicKey())
                .nodeKey(NodePrivateKey.generate().publicKey())
                .hostname(name)
                .givenName(name)
                .userId(uid)
                .addresses(a.v4(), a.v6())
                .hostinfo(Hostinfo.empty().withHostname(name).withRoutableIps(List.of(routes)))
                .approvedRoutes(List.of(routes))
                .build();
    }
}
