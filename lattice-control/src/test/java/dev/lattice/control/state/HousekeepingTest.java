package dev.lattice.control.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.store.RegisterMethod;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HousekeepingTest {
    @TempDir
    Path dir;

    /** A clock the test moves by hand. */
    static final class ManualClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void deletesOfflineEphemeralNodesAfterTheTimeoutAndAnnouncesExpiredKeysOnce() {
        ManualClock clock = new ManualClock();
        try (Store store = Store.openSqlite(dir.resolve("db.sqlite"), clock)) {
            IpAllocator ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
            Tailnet tailnet = new Tailnet(store, ips, clock);
            long uid = store.users().create("u", null, null).id();
            TailnetNode eph = tailnet.add(draft(ips, "eph", uid).ephemeral(true).registerMethod(RegisterMethod.AUTH_KEY).build());
            TailnetNode online = tailnet.add(draft(ips, "online", uid).ephemeral(true).registerMethod(RegisterMethod.AUTH_KEY).build());
            TailnetNode expiring = tailnet.add(draft(ips, "expiring", uid).expiry(clock.now.plusSeconds(60)).build());
            tailnet.streamOpened(online.id());
            List<Change> seen = new ArrayList<>();
            tailnet.addListener(seen::addAll);
            Housekeeping hk = new Housekeeping(tailnet, Duration.ofMinutes(2));

            clock.now = clock.now.plusSeconds(61);
            hk.run();
            assertThat(tailnet.node(eph.id())).as("ephemeral, offline only 61 s").isPresent();
            assertThat(seen).containsExactly(new Change(Change.Kind.UPDATED, expiring.id()));

            clock.now = clock.now.plusSeconds(120);
            hk.run();
            assertThat(tailnet.node(eph.id())).as("ephemeral, offline past the timeout").isEmpty();
            assertThat(tailnet.node(online.id())).as("ephemeral but online").isPresent();
            assertThat(tailnet.node(expiring.id())).isPresent();
            assertThat(seen).containsExactly(new Change(Change.Kind.UPDATED, expiring.id()),
                    new Change(Change.Kind.REMOVED, eph.id()));
            assertThat(ips.isUsed(eph.ipv4())).as("address released").isFalse();
        }
    }

    @Test
    void anEphemeralNodeIsKeptWhileTheDatabaseSaysAnotherReplicaHoldsItsStream() {
        ManualClock clock = new ManualClock();
        try (Store store = Store.openSqlite(dir.resolve("db.sqlite"), clock)) {
            IpAllocator ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
            Tailnet tailnet = new Tailnet(store, ips, clock);
            long uid = store.users().create("u", null, null).id();
            TailnetNode eph = tailnet.add(draft(ips, "eph", uid).ephemeral(true).registerMethod(RegisterMethod.AUTH_KEY).build());
            java.util.Set<Long> onlineElsewhere = new java.util.HashSet<>(List.of(eph.id()));
            Housekeeping hk = new Housekeeping(tailnet, Duration.ofMinutes(2), id -> !onlineElsewhere.contains(id));
            clock.now = clock.now.plusSeconds(600);
            hk.run();
            assertThat(tailnet.node(eph.id())).as("offline here, online on another replica").isPresent();
            onlineElsewhere.clear();
            hk.run();
            assertThat(tailnet.node(eph.id())).as("offline everywhere").isEmpty();
        }
    }

    private static TailnetNode.Builder draft(IpAllocator ips, String name, long uid) {
        IpAllocator.Addresses a = ips.allocate();
        return TailnetNode.builder()
                .machineKey(MachinePrivateKey.generate().publicKey())
                .nodeKey(NodePrivateKey.generate().publicKey())
                .hostname(name)
                .givenName(name)
                .userId(uid)
                .addresses(a.v4(), a.v6());
    }
}
