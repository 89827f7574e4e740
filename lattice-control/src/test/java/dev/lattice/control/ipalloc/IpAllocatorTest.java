package dev.lattice.control.ipalloc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.config.ControlConfig.Allocation;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.ip.IpPrefix;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Address allocation: the Tailscale reservations, sequential and random order, release, exhaustion. */
class IpAllocatorTest {
    private static InetAddress a(String s) {
        return IpPrefix.parseAddress(s);
    }

    private static IpAllocator alloc(String v4, String v6, Allocation s, InetAddress... used) {
        return new IpAllocator(v4 == null ? null : IpPrefix.parse(v4), v6 == null ? null : IpPrefix.parse(v6), s,
                List.of(used), new Random(1));
    }

    @Test
    void sequentialStartsAfterTheNetworkAddress() {
        IpAllocator al = alloc("100.64.0.0/10", "fd7a:115c:a1e0::/48", Allocation.SEQUENTIAL);
        IpAllocator.Addresses first = al.allocate();
        assertThat(first.v4()).isEqualTo(a("100.64.0.1"));
        assertThat(first.v6()).isEqualTo(a("fd7a:115c:a1e0::1"));
        assertThat(al.allocate()).isEqualTo(new IpAllocator.Addresses((Inet4Address) a("100.64.0.2"), (Inet6Address) a("fd7a:115c:a1e0::2")));
        assertThat(al.isUsed(a("100.64.0.2"))).isTrue();
        assertThat(al.isUsed(a("100.64.0.3"))).isFalse();
    }

    @Test
    void addressesInUseAreSkipped() {
        IpAllocator al = alloc("100.64.0.0/24", null, Allocation.SEQUENTIAL, a("100.64.0.1"), a("100.64.0.2"), a("100.64.0.4"), a("10.0.0.1"));
        assertThat(al.allocate().v4()).isEqualTo(a("100.64.0.3"));
        assertThat(al.allocate().v4()).isEqualTo(a("100.64.0.5"));
        assertThat(al.allocate().v6()).isNull();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "100.100.100.96/29 | 100.100.100.97 100.100.100.98 100.100.100.99 100.100.100.101 100.100.100.102",
            "100.115.92.0/22   | 100.115.94.0 100.115.94.1",
            "100.115.93.252/30 | ",
            "100.64.0.0/30     | 100.64.0.1 100.64.0.2",
            "100.64.0.1/32     | ",
            "fd7a:115c:a1e0::50/125 | fd7a:115c:a1e0::51 fd7a:115c:a1e0::52 fd7a:115c:a1e0::54 fd7a:115c:a1e0::55 fd7a:115c:a1e0::56",
            "fd7a:115c:a1e0:b1a::/120 | "})
    void reservedAddressesAreNeverHandedOut(String prefix, String expected) {
        IpPrefix p = IpPrefix.parse(prefix);
        IpAllocator al = p.isIPv4() ? alloc(prefix, null, Allocation.SEQUENTIAL) : alloc(null, prefix, Allocation.SEQUENTIAL);
        List<String> want = expected == null ? List.of() : List.of(expected.split(" "));
        List<String> got = new ArrayList<>();
        for (int i = 0; i < want.size(); i++) {
            IpAllocator.Addresses x = al.allocate();
            got.add(IpPrefix.format(p.isIPv4() ? x.v4() : x.v6()));
        }
        assertThat(got).containsExactlyElementsOf(want);
        if (!prefix.startsWith("100.115.92.0")) {
            assertThatThrownBy(al::allocate).isInstanceOf(PoolExhaustedException.class).hasMessageContaining(p.toString());
        }
    }

    @Test
    void releasedAddressesAreReusedAfterWrapping() {
        IpAllocator al = alloc("100.64.0.0/29", null, Allocation.SEQUENTIAL);
        List<InetAddress> got = new ArrayList<>();
        for (int i = 0; i < 6; i++) got.add(al.allocate().v4());
        assertThatThrownBy(al::allocate).isInstanceOf(PoolExhaustedException.class);
        al.release(a("100.64.0.3"));
        assertThat(al.allocate().v4()).isEqualTo(a("100.64.0.3"));
        al.release(a("100.64.0.2"));
        al.release(a("100.64.0.5"));
        assertThat(al.allocate().v4()).isEqualTo(a("100.64.0.5"));
        assertThat(al.allocate().v4()).isEqualTo(a("100.64.0.2"));
    }

    @Test
    void aFullSecondFamilyTakesNothing() {
        IpAllocator al = alloc("100.64.0.0/24", "fd7a:115c:a1e0::/126", Allocation.SEQUENTIAL);
        al.allocate();
        al.allocate();
        assertThatThrownBy(al::allocate).isInstanceOf(PoolExhaustedException.class);
        assertThat(al.isUsed(a("100.64.0.3"))).as("the IPv4 address was given back").isFalse();
    }

    @Test
    void randomAllocationSpreadsOverThePrefix() {
        IpAllocator al = alloc("100.64.0.0/10", "fd7a:115c:a1e0::/48", Allocation.RANDOM);
        Set<InetAddress> seen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            IpAllocator.Addresses x = al.allocate();
            assertThat(seen.add(x.v4())).isTrue();
            assertThat(seen.add(x.v6())).isTrue();
        }
        // Not sequential: the first 200 addresses of the /10 are not what random picked.
        assertThat(seen.stream().filter(x -> x instanceof Inet4Address && x.getAddress()[1] == 64 && x.getAddress()[2] == 0)).hasSizeLessThan(10);
    }

    /** Property: random interleavings of allocate and release never duplicate, stay in the prefix, skip reservations. */
    @ParameterizedTest
    @CsvSource({"1,SEQUENTIAL,100.100.100.64/26", "2,RANDOM,100.100.100.64/26", "3,SEQUENTIAL,fd7a:115c:a1e0::/122",
            "4,RANDOM,fd7a:115c:a1e0::/122", "5,RANDOM,100.115.92.0/22", "6,SEQUENTIAL,100.115.92.0/22"})
    void allocationsAndReleasesNeverCollide(long seed, Allocation strategy, String prefixText) {
        IpPrefix prefix = IpPrefix.parse(prefixText);
        Random r = new Random(seed);
        IpAllocator al = prefix.isIPv4()
                ? new IpAllocator(prefix, null, strategy, List.of(), r)
                : new IpAllocator(null, prefix, strategy, List.of(), r);
        int capacity = 0;
        int size = 1 << (prefix.bytes().length * 8 - prefix.bits());
        byte[] base = prefix.bytes();
        for (int i = 0; i < size; i++) {
            byte[] b = base.clone();
            b[b.length - 1] = (byte) ((b[b.length - 1] & 0xff) + (i & 0xff));
            b[b.length - 2] = (byte) ((b[b.length - 2] & 0xff) + (i >> 8));
            try {
                if (!IpAllocator.isReserved(prefix, InetAddress.getByAddress(b))) capacity++;
            } catch (java.net.UnknownHostException e) {
                throw new AssertionError(e);
            }
        }
        List<InetAddress> held = new ArrayList<>();
        for (int step = 0; step < 5000; step++) {
            if (held.isEmpty() || r.nextInt(10) < 6) {
                if (held.size() == capacity) {
                    assertThatThrownBy(al::allocate).isInstanceOf(PoolExhaustedException.class);
                    continue;
                }
                IpAllocator.Addresses x = al.allocate();
                InetAddress got = prefix.isIPv4() ? x.v4() : x.v6();
                assertThat(prefix.contains(got)).isTrue();
                assertThat(IpAllocator.isReserved(prefix, got)).as("%s is reserved", got).isFalse();
                assertThat(held).doesNotContain(got);
                held.add(got);
            } else {
                InetAddress gone = held.remove(r.nextInt(held.size()));
                al.release(gone);
                assertThat(al.isUsed(gone)).isFalse();
            }
        }
    }

    @Test
    void concurrentAllocationsAreDistinct() throws Exception {
        IpAllocator al = alloc("100.64.0.0/10", "fd7a:115c:a1e0::/48", Allocation.SEQUENTIAL);
        Set<InetAddress> all = ConcurrentHashMap.newKeySet();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 500; i++) {
                        IpAllocator.Addresses x = al.allocate();
                        assertThat(all.add(x.v4())).isTrue();
                        assertThat(all.add(x.v6())).isTrue();
                    }
                }));
            }
            for (Future<?> f : fs) f.get();
        } finally {
            pool.shutdownNow();
        }
        assertThat(all).hasSize(8000);
    }

    @Test
    void startsFromTheAddressesInTheStore(@TempDir Path dir) {
        try (Store store = Store.openSqlite(dir.resolve("db.sqlite"))) {
            long uid = store.users().create("alice", "", "").id();
            ControlConfig.Prefixes prefixes = ControlConfig.defaults().prefixes();
            IpAllocator first = IpAllocator.fromStore(prefixes, store.nodes());
            List<TailnetNode> nodes = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                IpAllocator.Addresses x = first.allocate();
                nodes.add(store.nodes().create(TailnetNode.builder()
                        .machineKey(MachinePrivateKey.generate().publicKey())
                        .nodeKey(NodePrivateKey.generate().publicKey())
                        .hostname("n" + i)
                        .givenName("n" + i)
                        .userId(uid)
                        .addresses(x.v4(), x.v6())
                        .build()));
            }
            store.nodes().delete(nodes.get(1).id()).ifPresent(first::release);

            IpAllocator restarted = IpAllocator.fromStore(prefixes, store.nodes());
            assertThat(restarted.isUsed(nodes.get(0).ipv4())).isTrue();
            assertThat(restarted.isUsed(nodes.get(1).ipv4())).isFalse();
            assertThat(restarted.isUsed(nodes.get(2).ipv6())).isTrue();
            Set<InetAddress> taken = new HashSet<>(List.of(nodes.get(0).ipv4(), nodes.get(2).ipv4()));
            for (int i = 0; i < 5; i++) assertThat(taken.add(restarted.allocate().v4())).isTrue();
        }
    }

    @Test
    void rejectsPrefixesOfTheWrongFamily() {
        assertThatThrownBy(() -> alloc("fd7a::/48", null, Allocation.SEQUENTIAL)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> alloc(null, "100.64.0.0/10", Allocation.SEQUENTIAL)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Collections.<InetAddress>emptyList()).isEmpty();
    }
}
