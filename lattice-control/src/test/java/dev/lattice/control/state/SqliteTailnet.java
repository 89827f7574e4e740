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
final class SqliteTailnet implements AutoCloseable {
    final Store store;
    final Tailnet tailnet;
    final long alice;

    SqliteTailnet(Path dir) {
        store = Store.openSqlite(dir.resolve("db.sqlite"), Clock.systemUTC());
        tailnet = new Tailnet(store, IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes()), Clock.systemUTC());
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

    @Override
    public void close() {
        store.close();
    }
}
