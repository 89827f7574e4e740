package dev.lattice.control.state;

import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.store.ConflictException;
import dev.lattice.control.store.DnsLabels;
import dev.lattice.control.store.KeyUse;
import dev.lattice.control.store.StaleNodeException;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.tailcfg.Hostinfo;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's view of all nodes and users. Reads are served from memory; each mutation is written to the store
 * (one transaction) before memory changes and listeners hear about it. Mutations are serialized on this object,
 * which keeps the in-memory view and the database in the same order. Listeners run after the lock is released.
 */
public final class Tailnet {
    private static final Logger log = LoggerFactory.getLogger(Tailnet.class);

    private final Store store;
    private final IpAllocator ips;
    private final Clock clock;
    private final Map<Long, TailnetNode> nodes = new HashMap<>();
    private List<TailnetNode> sorted; // nodes() cache, guarded by this; null after any write
    private List<TailnetNode> routers; // routers() cache, likewise
    private final Map<NodePublicKey, Long> byNodeKey = new HashMap<>();
    /** A machine holds one node per user (and at most one tagged node): a few ids, in id order. */
    private final Map<MachinePublicKey, List<Long>> byMachineKey = new HashMap<>();
    private final Map<String, Long> byGivenName = new HashMap<>();
    private final Map<Long, User> users = new HashMap<>();
    private final Map<Long, Live> live = new HashMap<>();
    /** Nodes streaming to other replicas (PostgreSQL), with the start of their online period; see {@link #remoteSessions}. */
    private final Map<Long, Instant> remote = new HashMap<>();
    /**
     * The nodes online (here or on another replica), readable without the lock: every full map asks for each of its N
     * peers, and at 10,000 nodes a restart storm's map builders queued on the lock by the hundred while the event
     * loops waited behind them to close streams. Updated under the lock with {@code live} and {@code remote}.
     */
    private final OnlineIds online = new OnlineIds();
    /** Told when a node's first stream here opens or its last closes ({@code replica.SessionWriter} stores that). */
    private volatile Runnable localPresenceChanged = () -> { };
    // Replicas: a closed stream's last seen waits here for the session writer, which stores it with the sessions'
    // change in one transaction, instead of a transaction of its own per stream.
    private volatile boolean deferLastSeen;
    private final Map<Long, Instant> lastSeenPending = new HashMap<>(); // guarded by this
    private final List<Consumer<List<Change>>> listeners = new CopyOnWriteArrayList<>();

    public Tailnet(Store store, IpAllocator ips, Clock clock) {
        this.store = store;
        this.ips = ips;
        this.clock = clock;
        reload();
    }

    /** Re-reads everything from the store (at start, and after admin changes made outside this process). */
    public void reload() {
        List<Change> changes = new ArrayList<>();
        synchronized (this) {
            nodes.clear();
            sorted = null;
            routers = null;
            byNodeKey.clear();
            byMachineKey.clear();
            byGivenName.clear();
            users.clear();
            for (User u : store.users().list()) users.put(u.id(), u);
            for (TailnetNode n : store.nodes().list()) {
                index(n);
                // Nodes another writer added meanwhile (a replica) hold their addresses here too.
                if (n.ipv4() != null) ips.reserve(n.ipv4());
                if (n.ipv6() != null) ips.reserve(n.ipv6());
            }
            remote.keySet().retainAll(nodes.keySet());
            online.removeIf(id -> !isLocal(id) && !remote.containsKey(id));
            changes.add(Change.full());
        }
        publish(changes);
    }

    public Store store() {
        return store;
    }

    public IpAllocator ips() {
        return ips;
    }

    public Instant now() {
        return clock.instant();
    }

    public void addListener(Consumer<List<Change>> l) {
        listeners.add(l);
    }

    public void removeListener(Consumer<List<Change>> l) {
        listeners.remove(l);
    }

    // ---- reads ----

    public synchronized Optional<TailnetNode> node(long id) {
        return Optional.ofNullable(nodes.get(id));
    }

    public synchronized Optional<TailnetNode> byNodeKey(NodePublicKey k) {
        Long id = byNodeKey.get(k);
        return id == null ? Optional.empty() : Optional.of(nodes.get(id));
    }

    /** The machine's nodes (one per user who logged in on it, as in Headscale), in id order. */
    public synchronized List<TailnetNode> byMachineKey(MachinePublicKey k) {
        List<Long> ids = byMachineKey.get(k);
        return ids == null ? List.of() : ids.stream().map(nodes::get).toList();
    }

    /** All nodes sorted by id (the order Peers must have), unmodifiable; a snapshot shared until the next write, as every map flush reads it. */
    public synchronized List<TailnetNode> nodes() {
        List<TailnetNode> s = sorted;
        if (s == null) {
            List<TailnetNode> out = new ArrayList<>(nodes.values());
            out.sort(Comparator.comparingLong(TailnetNode::id));
            sorted = s = List.copyOf(out);
        }
        return s;
    }

    /**
     * The nodes with approved routes, by id, from the same snapshot as {@link #nodes()}: route elections and route
     * re-checks run on every change, and walking only these keeps them cheap in a large tailnet.
     */
    public synchronized List<TailnetNode> routers() {
        List<TailnetNode> r = routers;
        if (r == null) routers = r = nodes().stream().filter(n -> !n.approvedRoutes().isEmpty()).toList();
        return r;
    }

    public synchronized Optional<User> user(Long id) {
        return id == null ? Optional.empty() : Optional.ofNullable(users.get(id));
    }

    /**
     * The user {@code id}, read from the store when this replica has not heard of it yet (another replica created it a
     * moment ago: an OIDC login whose confirmation reaches this replica). Peers hear of it with the change log.
     */
    public Optional<User> userOrStored(long id) {
        Optional<User> u = user(id);
        if (u.isPresent()) return u;
        Optional<User> stored = store.users().get(id);
        synchronized (this) {
            stored.ifPresent(s -> users.putIfAbsent(s.id(), s));
        }
        return stored;
    }

    public synchronized List<User> users() {
        return List.copyOf(users.values());
    }

    /** Whether the node holds a map stream on this replica or (PostgreSQL) on another live one. */
    public boolean isOnline(long nodeId) {
        return online.contains(nodeId);
    }

    /** Which of the nodes with IDs {@code 64·w} to {@code 64·w + 63} are online, as {@link #isOnline}: bit {@code id % 64}. */
    public long onlineWord(long w) {
        return online.word(w);
    }

    /** Brings {@link #online} up to date for {@code id}; called under the lock after {@code live} or {@code remote} changed. */
    private void refreshOnline(long id) {
        if (isLocal(id) || remote.containsKey(id)) online.add(id);
        else online.remove(id);
    }

    private boolean isLocal(long nodeId) {
        Live l = live.get(nodeId);
        return l != null && l.streams > 0;
    }

    /**
     * When the node's current online period began, tailnet-wide (empty when offline). A node that moves to another
     * replica while still online keeps its start, so every replica orders HA routers alike ({@code PrimaryRoutes}).
     */
    public synchronized Optional<Instant> onlineSince(long nodeId) {
        Instant local = isLocal(nodeId) ? live.get(nodeId).since : null;
        Instant other = remote.get(nodeId);
        if (local == null) return Optional.ofNullable(other);
        return Optional.of(other != null && other.isBefore(local) ? other : local);
    }

    /** The nodes streaming to this replica, each with the start of its online period. */
    public synchronized Map<Long, Instant> localSessions() {
        Map<Long, Instant> out = new HashMap<>();
        live.forEach((id, l) -> {
            if (l.streams > 0) out.put(id, l.since);
        });
        return out;
    }

    /**
     * With {@code on}, a node's last seen when its last stream here closes is set in memory (peers hear it at once)
     * and kept for {@link #drainLastSeen}, whose caller stores it; without, it is stored at once, in a transaction of
     * its own.
     */
    public void deferLastSeen(boolean on) {
        deferLastSeen = on;
    }

    /** The last-seen times set since the last drain, to be stored. */
    public synchronized Map<Long, Instant> drainLastSeen() {
        Map<Long, Instant> out = Map.copyOf(lastSeenPending);
        lastSeenPending.clear();
        return out;
    }

    /**
     * The drained last-seen times were stored, moving the rows' updated_at to {@code updated}: this replica's nodes
     * carry it, so their next compare-and-set matches (nodes changed since keep their newer version).
     */
    public synchronized void lastSeenStored(Map<Long, Instant> updated) {
        updated.forEach((id, at) -> {
            TailnetNode cur = nodes.get(id);
            if (cur == null || (cur.updated() != null && !cur.updated().isBefore(at))) return;
            reindex(cur, cur.toBuilder().updated(at).build());
        });
    }

    /** {@code r} runs (on the changing thread, so briefly) when a node's first stream here opens or its last closes. */
    public void onLocalPresence(Runnable r) {
        this.localPresenceChanged = r;
    }

    /**
     * What other replicas hold: each node of {@code updates} streams to another live replica since its value, or (a
     * null value) to none. Peers hear the nodes whose online status or period start changed, as patches.
     */
    public void remoteSessions(Map<Long, Instant> updates) {
        List<Change> changes = new ArrayList<>();
        synchronized (this) {
            for (Map.Entry<Long, Instant> e : updates.entrySet()) {
                long id = e.getKey();
                if (!nodes.containsKey(id)) {
                    remote.remove(id);
                    refreshOnline(id);
                    continue;
                }
                Optional<Instant> before = onlineSince(id);
                if (e.getValue() == null) remote.remove(id);
                else remote.put(id, e.getValue());
                refreshOnline(id);
                if (!before.equals(onlineSince(id))) changes.add(new Change(Change.Kind.PATCH, id));
            }
        }
        if (!changes.isEmpty()) publish(changes);
    }

    /** The nodes this replica believes stream to other replicas (tests, diagnostics). */
    public synchronized java.util.Set<Long> remotelyOnline() {
        return java.util.Set.copyOf(remote.keySet());
    }

    // ---- writes ----

    /**
     * Stores a new node and announces it. A given name another node holds gets a {@code -1}, {@code -2}...
     * suffix here, under the lock, so concurrent registrations of one hostname each get their own name (Headscale's
     * {@code NodeStore.PutNode}).
     */
    public TailnetNode add(TailnetNode draft) {
        return add(draft, null);
    }

    /**
     * Stores a new node, spending {@code spend} (a single-use key, or null) in the same transaction, and announces
     * it. If the store refuses, nothing changes here either.
     */
    public TailnetNode add(TailnetNode draft, KeyUse spend) {
        List<InetAddress> mine = new ArrayList<>(); // addresses allocated here for a retry
        for (int attempt = 1; ; attempt++) {
            TailnetNode n;
            try {
                synchronized (this) {
                    n = store.nodes().create(draft.toBuilder().givenName(uniqueGivenName(draft.givenName(), 0)).build(), spend);
                    index(n);
                }
            } catch (ConflictException e) {
                TailnetNode retry = attempt < MAX_RACE_ATTEMPTS ? afterConflict(draft, e, mine) : null;
                if (retry == null) {
                    for (InetAddress a : mine) ips.release(a);
                    throw e;
                }
                draft = retry;
                // Both replicas allocate the next free address, so a burst of joins on both collides again at once;
                // a short random pause spreads the losers out.
                try {
                    Thread.sleep(java.util.concurrent.ThreadLocalRandom.current().nextInt(1, 1 + 4 * attempt));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    for (InetAddress a : mine) ips.release(a);
                    throw e;
                }
                continue;
            }
            publish(List.of(new Change(Change.Kind.ADDED, n.id())));
            return n;
        }
    }

    /**
     * Replicas on one database race for addresses, names and rows; the loser of a race tries again this often (50
     * joins at once over two replicas once needed more than 10 tries).
     */
    private static final int MAX_RACE_ATTEMPTS = 30;

    /**
     * The draft to try again after another replica took one of its addresses or its given name first (the database's
     * unique constraints are the referee), or null when the conflict is not such a race. Only with replicas: on
     * SQLite this server is the only writer and its memory is the truth.
     */
    private TailnetNode afterConflict(TailnetNode draft, ConflictException e, List<InetAddress> mine) {
        if (!store.changes().enabled() || e.column() == null) return null;
        switch (e.column()) {
            case "ipv4", "ipv6" -> {
                // This replica has not heard of some nodes yet: learn every address in use, then allocate again.
                for (InetAddress a : store.nodes().allAddresses()) ips.reserve(a);
                TailnetNode.Builder b = draft.toBuilder();
                Inet4Address v4 = draft.ipv4();
                Inet6Address v6 = draft.ipv6();
                if (v4 != null && e.column().equals("ipv4")) {
                    v4 = ips.allocateV4();
                    mine.add(v4);
                }
                if (v6 != null && e.column().equals("ipv6")) {
                    v6 = ips.allocateV6();
                    mine.add(v6);
                }
                log.debug("address taken by another replica, trying {} {}", v4, v6);
                return b.addresses(v4, v6).build();
            }
            case "given_name" -> {
                // Learn the nodes that hold the label or a collision name of it; uniqueGivenName then picks another.
                for (long id : store.nodes().idsByGivenNameLabel(draft.givenName())) refresh(id);
                return draft;
            }
            default -> {
                return null;
            }
        }
    }

    /**
     * Applies {@code f} to the node's current value, stores the result and announces it as {@code kind} (or not at
     * all if nothing changed). Returns the stored node.
     */
    public Optional<TailnetNode> update(long id, Change.Kind kind, UnaryOperator<TailnetNode> f) {
        return update(id, kind, f, null);
    }

    /**
     * As {@link #update(long, Change.Kind, UnaryOperator)}, spending {@code spend} (a single-use key, or null) in the
     * transaction that stores the node; with a key to spend the node is written even if unchanged.
     */
    public Optional<TailnetNode> update(long id, Change.Kind kind, UnaryOperator<TailnetNode> f, KeyUse spend) {
        boolean replicas = store.changes().enabled();
        for (int attempt = 1; ; attempt++) {
            TailnetNode updated;
            try {
                synchronized (this) {
                    TailnetNode cur = nodes.get(id);
                    if (cur == null) return Optional.empty();
                    TailnetNode next = f.apply(cur);
                    if (next.equals(cur) && spend == null) return Optional.of(cur);
                    // With replicas, only from the current row: another replica's change is never overwritten.
                    updated = store.nodes().update(next, spend, replicas ? cur.updated() : null);
                    reindex(cur, updated);
                }
            } catch (StaleNodeException e) {
                if (attempt >= MAX_RACE_ATTEMPTS) throw e;
                refresh(id); // this replica had not heard of the other's write yet: read it, apply f to it
                continue;
            } catch (ConflictException e) {
                // Another replica gave the name f chose (a hostname change's collision name) to another node first:
                // learn the nodes holding it and its collision names, and apply f again, which picks a free one.
                if (!replicas || !"given_name".equals(e.column()) || attempt >= MAX_RACE_ATTEMPTS) throw e;
                TailnetNode cur = node(id).orElse(null);
                if (cur == null) throw e;
                String tried = f.apply(cur).givenName();
                for (long other : store.nodes().idsByGivenNameLabel(tried.replaceFirst("-[0-9]+$", ""))) {
                    if (other != id) refresh(other);
                }
                // A name f insists on (an admin's rename to a taken name) is a conflict, not a race to retry.
                TailnetNode now = node(id).orElse(null);
                if (now == null || f.apply(now).givenName().equals(tried)) throw e;
                continue;
            }
            publish(List.of(new Change(kind, id)));
            return Optional.of(updated);
        }
    }

    /**
     * {@code label} (a valid DNS label) if no node but {@code self} has it, else the first free {@code label-1},
     * {@code label-2}... Only a suggestion outside {@link #update}'s function or {@link #add}: another writer may
     * take it before it is stored.
     */
    public synchronized String uniqueGivenName(String label, long self) {
        return DnsLabels.unique(label, g -> {
            Long holder = byGivenName.get(g);
            return holder != null && holder != self;
        });
    }

    /**
     * {@code n} with the hostname and Hostinfo its client reported. When the hostname changed, the given name (the
     * MagicDNS name peers see) follows it, sanitised and made unique, unless an admin renamed the node: Headscale's
     * rule on every Hostinfo change ({@code UpdateNodeFromMapRequest}). Call it inside {@link #update}'s function,
     * where the lock makes the new name unique when it is written.
     */
    public synchronized TailnetNode withReportedHostinfo(TailnetNode n, String hostname, Hostinfo hostinfo) {
        TailnetNode.Builder next = n.toBuilder().hostname(hostname).hostinfo(hostinfo);
        if (!hostname.equals(n.hostname()) && DnsLabels.isAutoDerived(n.givenName(), n.hostname())) {
            next.givenName(uniqueGivenName(DnsLabels.sanitize(hostname), n.id()));
        }
        return next.build();
    }

    public boolean delete(long id) {
        synchronized (this) {
            TailnetNode cur = nodes.get(id);
            if (cur == null) return false;
            store.nodes().delete(id);
            unindex(cur);
            live.remove(id);
            remote.remove(id);
            online.remove(id);
            ips.release(cur);
        }
        publish(List.of(new Change(Change.Kind.REMOVED, id)));
        return true;
    }

    /**
     * Another replica wrote node {@code id} (or deleted it): reads its row again and announces the difference to this
     * replica's listeners as a local write would be announced. The read happens under the lock, so it cannot overtake
     * a local write of the same node; a row equal to what is in memory announces nothing.
     */
    public void refresh(long id) {
        Change change;
        synchronized (this) {
            Optional<TailnetNode> stored = store.nodes().get(id);
            TailnetNode cur = nodes.get(id);
            if (stored.isEmpty()) {
                if (cur == null) return;
                unindex(cur);
                live.remove(id);
                remote.remove(id);
                online.remove(id);
                ips.release(cur);
                change = new Change(Change.Kind.REMOVED, id);
            } else {
                TailnetNode n = stored.get();
                if (n.equals(cur)) return;
                if (cur != null) {
                    unindex(cur);
                    if (!java.util.Objects.equals(cur.ipv4(), n.ipv4())) ips.release(cur.ipv4());
                    if (!java.util.Objects.equals(cur.ipv6(), n.ipv6())) ips.release(cur.ipv6());
                }
                if (n.ipv4() != null) ips.reserve(n.ipv4());
                if (n.ipv6() != null) ips.reserve(n.ipv6());
                index(n);
                // Only last seen changed (the node's last stream on another replica closed): a patch, as locally.
                boolean patch = cur != null && n.toBuilder().lastSeen(cur.lastSeen()).updated(cur.updated()).build().equals(cur);
                change = new Change(cur == null ? Change.Kind.ADDED : patch ? Change.Kind.PATCH : Change.Kind.UPDATED, id);
            }
        }
        publish(List.of(change));
    }

    /**
     * A map stream opened: the node is online (peers hear it as a patch) until every {@link Presence} it was given
     * is closed. A handle per stream, not a bare counter: a close that runs before, after or twice around its open
     * (a stream that died while it was being set up) still leaves the count right.
     */
    public Presence streamOpened(long id) {
        boolean changed;
        Presence p;
        synchronized (this) {
            Live l = live.computeIfAbsent(id, k -> new Live());
            p = new Presence(id, l);
            changed = l.streams++ == 0;
            // Still online through another replica (it is moving here): its online period goes on.
            if (changed) l.since = remote.getOrDefault(id, clock.instant());
            refreshOnline(id);
        }
        if (changed) {
            localPresenceChanged.run();
            publish(List.of(new Change(Change.Kind.PATCH, id)));
        }
        return p;
    }

    /** One map stream's hold on its node's online status; {@link #close()} is idempotent. */
    public final class Presence implements AutoCloseable {
        private final long nodeId;
        private final Live of;
        private boolean closed; // guarded by the Tailnet

        private Presence(long nodeId, Live of) {
            this.nodeId = nodeId;
            this.of = of;
        }

        public long nodeId() {
            return nodeId;
        }

        /** The stream closed: offline when it was the node's last one; last seen is stored. */
        @Override
        public void close() {
            streamClosed(this);
        }
    }

    private void streamClosed(Presence p) {
        boolean offline;
        synchronized (this) {
            if (p.closed) return;
            p.closed = true;
            // The node was deleted (and maybe re-created) since: its old streams count for nothing.
            if (live.get(p.nodeId) != p.of) return;
            offline = --p.of.streams == 0;
            refreshOnline(p.nodeId);
        }
        if (offline && deferLastSeen) {
            Instant now = clock.instant();
            synchronized (this) {
                TailnetNode cur = nodes.get(p.nodeId);
                if (cur != null) {
                    reindex(cur, cur.toBuilder().lastSeen(now).build());
                    lastSeenPending.put(p.nodeId, now);
                }
            }
            localPresenceChanged.run();
            publish(List.of(new Change(Change.Kind.PATCH, p.nodeId)));
        } else if (offline) {
            localPresenceChanged.run();
            Instant now = clock.instant();
            try {
                update(p.nodeId, Change.Kind.PATCH, n -> n.toBuilder().lastSeen(now).build());
            } catch (RuntimeException e) {
                log.warn("could not store last-seen for node {}: {}", p.nodeId, e.toString());
                publish(List.of(new Change(Change.Kind.PATCH, p.nodeId))); // peers must hear it went offline anyway
            }
        }
    }

    /** Announces that a node's view changed without a stored change (e.g. its key just expired). */
    public void announce(long nodeId) {
        publish(List.of(new Change(Change.Kind.UPDATED, nodeId)));
    }

    /** Announces a change that is not a node's (DNS, DERP map, policy, users). */
    public void announceFull() {
        synchronized (this) {
            users.clear();
            for (User u : store.users().list()) users.put(u.id(), u);
        }
        publish(List.of(Change.full()));
    }

    /** Announces a new DNS config: every map session sends it, and nothing else. */
    public void announceDns() {
        publish(List.of(Change.dns()));
    }

    /** Tells the map sessions that the DERP map changed. */
    public void announceDerp() {
        publish(List.of(Change.derp()));
    }

    private void index(TailnetNode n) {
        sorted = null;
        routers = null;
        nodes.put(n.id(), n);
        byNodeKey.put(n.nodeKey(), n.id());
        List<Long> ids = byMachineKey.computeIfAbsent(n.machineKey(), k -> new ArrayList<>(1));
        if (!ids.contains(n.id())) {
            ids.add(n.id());
            ids.sort(null);
        }
        byGivenName.put(n.givenName(), n.id());
    }

    /**
     * {@code cur} replaced by {@code updated}, the same node: the sorted list is patched rather than dropped (its
     * order is by ID, which did not change). In a restart storm every reconnect updates its node, and every full map
     * read the list: each sorted 10,000 nodes again.
     */
    private void reindex(TailnetNode cur, TailnetNode updated) {
        List<TailnetNode> s = sorted;
        List<TailnetNode> r = routers;
        unindex(cur);
        index(updated);
        if (cur.id() != updated.id()) return;
        if (s != null) {
            TailnetNode[] a = s.toArray(TailnetNode[]::new);
            int lo = 0, hi = a.length - 1, at = -1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                long id = a[mid].id();
                if (id < cur.id()) lo = mid + 1;
                else if (id > cur.id()) hi = mid - 1;
                else {
                    at = mid;
                    break;
                }
            }
            if (at >= 0) {
                a[at] = updated;
                sorted = java.util.Collections.unmodifiableList(java.util.Arrays.asList(a));
            }
        }
        // Routers are the nodes with approved routes: neither version being one leaves the list as it was.
        if (r != null && cur.approvedRoutes().isEmpty() && updated.approvedRoutes().isEmpty()) routers = r;
    }

    private void unindex(TailnetNode n) {
        sorted = null;
        routers = null;
        nodes.remove(n.id());
        byNodeKey.remove(n.nodeKey(), n.id());
        List<Long> ids = byMachineKey.get(n.machineKey());
        if (ids != null) {
            ids.remove(n.id());
            if (ids.isEmpty()) byMachineKey.remove(n.machineKey());
        }
        byGivenName.remove(n.givenName(), n.id());
    }

    private void publish(List<Change> changes) {
        for (Consumer<List<Change>> l : listeners) {
            try {
                l.accept(changes);
            } catch (RuntimeException e) {
                log.warn("change listener failed", e);
            }
        }
    }
}
