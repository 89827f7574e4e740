package dev.lattice.control.state;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import java.nio.file.Path;
import java.time.Clock;

/** Test fixture: a {@link Tailnet} over a SQLite store in {@code dir}, with one user (alice) whose nodes {@link #add} makes. */
public final class SqliteTailnet implements AutoCloseable {
    public final Store store;
    public final Tailnet tailnet;
    public final long alice;
    private final IpAllocator ips;

    public SqliteTailnet(Path dir) {
        store = Store.openSqlite(dir.resolve("db.sqlite"), Clock.systemUTC());
        ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
        tailnet = new Tailnet(store, ips, Clock.systemUTC());
        alice = store.users().create("alice", "", "").id();
        tailnet.announceFull();
    }

    /** A new node of alice's with fresh keys, through {@link Tailnet#add} (which makes {@code givenName} unique). */
    TailnetNode add(String hostname, String givenName) {
        return tailnet.add(TailnetNode.builder()
                .machineKey(MachinePrivateKey.generate().publicKey())
                .nodeKey(NodePrivateKey.generate().publicKey())
                .hostname(hostname)
                .givenName(givenName)
                .userId(alice)
                .build());
    }

    /** As {@link #add}, named {@code name}, with addresses from the tailnet's pool (as netmaps need). */
    public TailnetNode addWithAddresses(String name) {
        IpAllocator.Addresses a = ips.allocate();
        return tailnet.add(TailnetNode.builder()
                .machineKey(MachinePrivateKey.generate().publicKey())
                .nodeKey(NodePrivateKey.generate().publicKey())
                .hostname(name)
                .givenName(name)
                .userId(alice)
                .addresses(a.v4(), a.v6())
                .build());
    }

    @Override
    public void close() {
        store.close();
    }
}
