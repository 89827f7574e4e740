package dev.lattice.control.policy;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.netmap.PacketPolicy;
import dev.lattice.control.metrics.ControlMetrics;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.NodeTags;
import dev.lattice.control.store.StoredPolicy;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * Loads the policy ({@code policy.mode}: {@code file} or {@code database}), keeps it compiled against the live
 * tailnet and hands every new compilation to the netmap (normally {@code MapSessions::setPolicy}, which sends each
 * session a delta of what changed for it).
 *
 * <ul>
 * <li>No policy configured (file mode without a path, or nothing stored yet in database mode): Tailscale's
 *     allow-all, {@link PacketPolicy#ALLOW_ALL}.
 * <li>File mode: the file is re-read on SIGHUP and when it changes (a watch on its directory, so editors that
 *     replace the file by rename, and Kubernetes ConfigMap volumes that swap a link, are seen too; events are
 *     debounced). A new text that does not parse, compile or
 *     pass its own tests is rejected with a logged error naming line and column; the old policy stays.
 * <li>Database mode: {@link #set} validates (tests included), stores and applies.
 * <li>Node and user changes the policy can see (added, removed, tags, addresses, owner, routes) recompile the
 *     current text at once, on the thread that made the change, before the map sessions flush it (they coalesce
 *     for 25 ms), so no session is ever served a policy that does not know a node. Compilations triggered by a
 *     burst of concurrent changes collapse into one.
 * </ul>
 *
 * <p>A policy is never replaced by allow-all because of an error: a broken policy at start stops the server; a
 * broken reload keeps the previous policy. Exceptions thrown by a compiled policy while building a netmap deny (an
 * empty filter, the peer hidden) instead of ending the session.
 */
public final class PolicyManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PolicyManager.class);
    /** Editors write a file in several steps; one reload after the last event. */
    static final Duration DEBOUNCE = Duration.ofMillis(100);

    /** Parses and compiles a policy text; {@code runTests} also runs its {@code tests} (a failure rejects it). */
    @FunctionalInterface
    public interface Engine {
        CompiledPolicy compile(String text, List<TailnetNode> nodes, List<User> users, boolean runTests)
                throws PolicyException;
    }

    /**
     * The HuJSON engine: {@link PolicyParser} then {@link PolicyCompiler}. Without {@code runTests} the policy's
     * tests are skipped (recompiles after node changes: a new node must not unset the policy).
     *
     * @param serverUrl prefixes SSH check-mode URLs
     */
    public static Engine hujson(String serverUrl) {
        return (text, nodes, users, runTests) -> {
            Policy p = PolicyParser.parse(text);
            if (runTests) return PolicyCompiler.compile(p, nodes, users, serverUrl);
            PolicyCompiler.Compilation c = new PolicyCompiler.Compilation(p, nodes, users, serverUrl == null ? "" : serverUrl);
            c.run();
            return c.result();
        };
    }

    /** The policy in force: {@code text} null means none (allow-all). */
    public record Current(String text, CompiledPolicy compiled, Instant updated) {
        static final Current NONE = new Current(null, null, null);
    }

    private final ControlConfig.PolicyMode mode;
    private final Path path;
    private final Tailnet tailnet;
    private final Engine engine;
    private final Consumer<PacketPolicy> publish;
    private final Object compileLock = new Object();
    private final AtomicLong requested = new AtomicLong();
    private long compiledGeneration; // guarded by compileLock
    private final Map<Long, Fingerprint> seen = new HashMap<>(); // guarded by compileLock
    private volatile Map<Long, Fingerprint> seenView = Map.of();
    private volatile List<User> seenUsers = List.of();
    private volatile Current current = Current.NONE;
    private final ScheduledExecutorService worker =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("policy-reload").daemon().factory());
    private ScheduledFuture<?> pendingReload;
    private WatchService watcher;
    private Thread watchThread;
    private final Consumer<List<Change>> listener = this::onChanges;

    public PolicyManager(ControlConfig.Policy config, Tailnet tailnet, Engine engine, Consumer<PacketPolicy> publish) {
        this.mode = config.mode();
        this.path = config.path();
        this.tailnet = tailnet;
        this.engine = engine;
        this.publish = publish;
    }

    /**
     * Loads and applies the configured policy, then starts following changes (tailnet, file, SIGHUP).
     *
     * @throws PolicyException when the configured policy cannot be used (the server should not start)
     */
    public void start() throws PolicyException {
        String text = switch (mode) {
            case FILE -> path == null ? null : readFile();
            case DATABASE -> tailnet.store().policy().get().map(StoredPolicy::data).orElse(null);
        };
        Instant updated = switch (mode) {
            case FILE -> path == null ? null : tailnet.now();
            case DATABASE -> tailnet.store().policy().get().map(StoredPolicy::updated).orElse(null);
        };
        if (text != null) {
            synchronized (compileLock) {
                // At start the tests are not run (as headscale's boot path): nodes that make a test fail must not
                // keep the server down. Every admin-written policy is tested.
                install(new Current(text, compileLocked(text, false), updated));
            }
            log.info("policy loaded ({} mode{})", mode.name().toLowerCase(java.util.Locale.ROOT), path == null ? "" : ", " + path);
        } else {
            log.info("no policy configured: every node may reach every node (allow-all)");
        }
        tailnet.addListener(listener);
        if (mode == ControlConfig.PolicyMode.FILE && path != null) startWatching();
        // SIGHUP is the service manager's reload (`systemctl reload lattice-control`): handled in every mode, as
        // Headscale does, because the JVM's default for HUP is to exit. Only a policy file has anything to re-read.
        Hangup.register(this);
    }

    /** SIGHUP: re-read the policy file; in the other modes there is nothing to re-read. */
    void hangup() {
        if (mode == ControlConfig.PolicyMode.FILE && path != null) {
            scheduleReload();
        } else {
            log.info("SIGHUP: no policy file to reload (policy mode {}{})", mode.name().toLowerCase(java.util.Locale.ROOT),
                    mode == ControlConfig.PolicyMode.DATABASE ? ": use `lattice-control policy set`" : "");
        }
    }

    public ControlConfig.PolicyMode mode() {
        return mode;
    }

    public Current current() {
        return current;
    }

    private volatile ControlMetrics metrics;

    /** Where compilations are counted and timed; none until set. */
    public void metrics(ControlMetrics m) {
        this.metrics = m;
    }

    /** The compiled policy, empty when none is configured (allow-all). */
    public Optional<CompiledPolicy> compiled() {
        return Optional.ofNullable(current.compiled());
    }

    /** What the netmap uses: the compiled policy made fail-closed, or allow-all. */
    public PacketPolicy packetPolicy() {
        CompiledPolicy c = current.compiled();
        return c == null ? PacketPolicy.ALLOW_ALL : new FailClosed(c);
    }

    /** The policy text as the admin wrote it: the file's current content in file mode, else the stored one. */
    public Optional<Current> text() throws IOException {
        if (mode == ControlConfig.PolicyMode.FILE) {
            if (path == null) return Optional.empty();
            String problem = PolicySize.problem(Files.size(path));
            if (problem != null) throw new IOException(path + ": " + problem);
            return Optional.of(new Current(Files.readString(path, StandardCharsets.UTF_8), null,
                    Files.getLastModifiedTime(path).toInstant()));
        }
        return tailnet.store().policy().get().map(p -> new Current(p.data(), null, p.updated()));
    }

    /** Validates {@code text} against the live nodes and users, running its tests; nothing is applied. */
    public void check(String text) throws PolicyException {
        PolicySize.check(Objects.requireNonNull(text));
        engine.compile(text, tailnet.nodes(), tailnet.users(), true);
    }

    /**
     * Database mode: validates {@code text} (tests included), stores it and applies it.
     *
     * @throws IllegalStateException in file mode (as headscale: "update is disabled for modes other than 'database'")
     */
    public StoredPolicy set(String text) throws PolicyException {
        Objects.requireNonNull(text);
        if (mode != ControlConfig.PolicyMode.DATABASE) {
            throw new IllegalStateException("update is disabled for modes other than 'database'");
        }
        PolicySize.check(text);
        synchronized (compileLock) {
            CompiledPolicy c = compileLocked(text, true);
            StoredPolicy stored = tailnet.store().policy().set(text);
            install(new Current(text, c, stored.updated()));
            log.info("policy updated (database mode)");
            return stored;
        }
    }

    /**
     * File mode: re-reads the file and applies it when it changed. A text that cannot be used is logged (line and
     * column) and the previous policy stays. Returns whether a new policy was applied.
     */
    public boolean reload() {
        if (mode != ControlConfig.PolicyMode.FILE || path == null) return false;
        String text;
        try {
            text = readFile();
        } catch (PolicyException e) {
            log.error("policy reload: {}; keeping the previous policy", e.getMessage());
            return false;
        }
        synchronized (compileLock) {
            if (text.equals(current.text())) return false;
            try {
                install(new Current(text, compileLocked(text, true), tailnet.now()));
            } catch (PolicyException e) {
                log.error("policy file {} rejected, keeping the previous policy: {}", path, e.getMessage());
                return false;
            }
        }
        log.info("policy reloaded from {}", path);
        return true;
    }

    /**
     * Database mode: another replica stored a policy (it ran the policy's tests there); compiles and applies it here.
     * A text that does not compile against this replica's tailnet is logged and the previous policy stays.
     */
    public void reloadStored() {
        if (mode != ControlConfig.PolicyMode.DATABASE) return;
        Optional<StoredPolicy> stored = tailnet.store().policy().get();
        if (stored.isEmpty()) return;
        synchronized (compileLock) {
            if (stored.get().data().equals(current.text())) return;
            try {
                install(new Current(stored.get().data(), compileLocked(stored.get().data(), false), stored.get().updated()));
            } catch (PolicyException e) {
                log.error("the policy another replica stored does not compile here, keeping the previous one: {}", e.getMessage());
                return;
            }
        }
        log.info("policy updated by another replica (database mode)");
    }

    // ---- following the tailnet ----

    /** What of a node the policy can see; any difference means a recompile. */
    record Fingerprint(NodeTags tags, Long userId, Object ipv4, Object ipv6, List<IpPrefix> approvedRoutes,
                       List<IpPrefix> announcedRoutes) {
        static Fingerprint of(TailnetNode n) {
            return new Fingerprint(n.tags(), n.userId(), n.ipv4(), n.ipv6(), n.approvedRoutes(), n.announcedRoutes());
        }
    }

    private void onChanges(List<Change> changes) {
        if (current.text() == null) return; // allow-all does not depend on nodes
        for (Change c : changes) {
            if (relevant(c)) {
                recompile(c.kind() + " " + c.nodeId());
                return;
            }
        }
    }

    private boolean relevant(Change c) {
        return switch (c.kind()) {
            case ADDED, REMOVED -> true;
            case PATCH, POLICY, DNS, DERP -> false; // endpoints, DERP home, disco key, online, last seen: nothing the policy sees
            case UPDATED -> !Objects.equals(seenView.get(c.nodeId()), tailnet.node(c.nodeId()).map(Fingerprint::of).orElse(null));
            case FULL -> !seenUsers.equals(sortedUsers()) || !seenView.equals(fingerprints(tailnet.nodes()));
        };
    }

    private List<User> sortedUsers() {
        return tailnet.users().stream().sorted(java.util.Comparator.comparingLong(User::id)).toList();
    }

    private static Map<Long, Fingerprint> fingerprints(List<TailnetNode> nodes) {
        Map<Long, Fingerprint> m = new HashMap<>();
        for (TailnetNode n : nodes) m.put(n.id(), Fingerprint.of(n));
        return m;
    }

    /** Recompiles the current text against the tailnet as it is now; concurrent requests share one compilation. */
    void recompile(String why) {
        long mine = requested.incrementAndGet();
        synchronized (compileLock) {
            if (compiledGeneration >= mine) return;
            Current cur = current;
            if (cur.text() == null) return;
            try {
                install(new Current(cur.text(), compileLocked(cur.text(), false), cur.updated()));
                log.debug("policy recompiled after {}", why);
            } catch (PolicyException e) {
                log.error("the policy no longer compiles after a tailnet change ({}); keeping the previous compilation: {}",
                        why, e.getMessage());
            }
        }
    }

    /** Compiles against a fresh snapshot and remembers what it saw. Caller holds compileLock. */
    private CompiledPolicy compileLocked(String text, boolean runTests) throws PolicyException {
        compiledGeneration = requested.get();
        List<TailnetNode> nodes = tailnet.nodes();
        List<User> users = sortedUsers();
        long start = System.nanoTime();
        CompiledPolicy c;
        ControlMetrics m = metrics;
        try {
            c = engine.compile(text, nodes, users, runTests);
        } catch (PolicyException | RuntimeException e) {
            if (m != null) m.policyCompiles.labelValues("error").inc();
            throw e;
        }
        if (m != null) {
            m.policyCompiles.labelValues("ok").inc();
            m.policyCompileSeconds.observe((System.nanoTime() - start) / 1e9);
        }
        seen.clear();
        seen.putAll(fingerprints(nodes));
        seenView = Map.copyOf(seen);
        seenUsers = users;
        return c;
    }

    private void install(Current c) {
        current = c;
        publish.accept(packetPolicy());
    }

    // ---- file watching and SIGHUP ----

    private String readFile() throws PolicyException {
        try {
            // Before reading: a huge file must not be read into memory only to be refused.
            String problem = PolicySize.problem(Files.size(path));
            if (problem != null) throw new PolicyException("policy file " + path + ": " + problem);
            return Files.readString(path, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new PolicyException("reading policy file " + path + ": " + e);
        }
    }

    /** Debounced: the reload runs once, {@link #DEBOUNCE} after the last request. */
    synchronized void scheduleReload() {
        if (worker.isShutdown()) return;
        if (pendingReload != null) pendingReload.cancel(false);
        pendingReload = worker.schedule(this::reload, DEBOUNCE.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void startWatching() {
        Path dir = path.toAbsolutePath().getParent();
        Path name = path.getFileName();
        try {
            watcher = FileSystems.getDefault().newWatchService();
            dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
        } catch (IOException e) {
            log.warn("cannot watch {} for policy changes ({}); reload with SIGHUP", dir, e.toString());
            return;
        }
        WatchService w = watcher;
        watchThread = Thread.ofPlatform().name("policy-watch").daemon().start(() -> {
            try {
                while (true) {
                    WatchKey k = w.take();
                    boolean ours = false;
                    for (WatchEvent<?> ev : k.pollEvents()) {
                        // OVERFLOW has no context: events may have been lost, so reload to be sure. A Kubernetes
                        // ConfigMap volume swaps its "..data" link (names starting with ".."), never the file's own.
                        ours |= ev.context() == null || name.equals(ev.context())
                                || ev.context().toString().startsWith("..");
                    }
                    if (ours) scheduleReload();
                    if (!k.reset()) {
                        log.warn("policy directory {} is gone; reload with SIGHUP once it is back", dir);
                        return;
                    }
                }
            } catch (InterruptedException | ClosedWatchServiceException e) {
                // closing
            }
        });
    }

    @Override
    public void close() {
        tailnet.removeListener(listener);
        Hangup.unregister(this);
        worker.shutdownNow();
        if (watcher != null) {
            try {
                watcher.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }

    /** One SIGHUP handler for the process (a signal has one handler), passed to every manager. */
    static final class Hangup {
        private static final Set<PolicyManager> managers = new CopyOnWriteArraySet<>();
        private static boolean installed;

        static synchronized void register(PolicyManager m) {
            managers.add(m);
            if (installed) return;
            try {
                sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> managers.forEach(PolicyManager::hangup));
                installed = true;
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                // e.g. the JVM runs with -Xrs, or HUP is reserved: the file watch still works
                log.warn("cannot handle SIGHUP ({}): a reload signal ends the server; a policy file is still reloaded when it "
                        + "changes", e.getMessage());
            }
        }

        static void unregister(PolicyManager m) {
            managers.remove(m);
        }
    }

    /** Errors inside a compiled policy deny rather than end the map session. */
    private record FailClosed(CompiledPolicy p) implements PacketPolicy {
        @Override
        public List<FilterRule> filterFor(TailnetNode node) {
            try {
                return p.filterFor(node);
            } catch (RuntimeException e) {
                log.error("policy: filter for node {} failed; it gets an empty (deny-all) filter", node.id(), e);
                return List.of();
            }
        }

        @Override
        public boolean canSee(TailnetNode viewer, TailnetNode peer) {
            try {
                return p.canSee(viewer, peer);
            } catch (RuntimeException e) {
                log.error("policy: visibility of node {} to node {} failed; hidden", peer.id(), viewer.id(), e);
                return false;
            }
        }

        @Override
        public java.util.BitSet visiblePeers(TailnetNode viewer, List<TailnetNode> all) {
            try {
                return p.visiblePeers(viewer, all);
            } catch (RuntimeException e) {
                log.error("policy: peers of node {} failed; it sees none", viewer.id(), e);
                return new java.util.BitSet();
            }
        }

        @Override
        public List<IpPrefix> reduceRoutes(TailnetNode viewer, List<IpPrefix> routes) {
            try {
                return p.reduceRoutes(viewer, routes);
            } catch (RuntimeException e) {
                log.error("policy: routes for node {} failed; it gets none", viewer.id(), e);
                return List.of();
            }
        }

        @Override
        public dev.lattice.control.netmap.ViaRoutes viaRoutes(TailnetNode viewer, TailnetNode peer) {
            try {
                return p.viaRoutes(viewer, peer);
            } catch (RuntimeException e) {
                log.error("policy: via routes of node {} for node {} failed; none steered", peer.id(), viewer.id(), e);
                return dev.lattice.control.netmap.ViaRoutes.NONE;
            }
        }

        @Override
        public boolean hasVia() {
            return p.hasVia();
        }

        @Override
        public JsonNode sshPolicyFor(TailnetNode node) {
            try {
                return p.sshPolicyFor(node);
            } catch (RuntimeException e) {
                log.error("policy: SSH policy for node {} failed; none sent", node.id(), e);
                return null;
            }
        }

        @Override
        public java.util.Optional<java.time.Duration> sshCheckPeriod(TailnetNode src, TailnetNode dst) {
            try {
                return p.sshCheckPeriod(src, dst);
            } catch (RuntimeException e) {
                log.error("policy: SSH check period for node {} to node {} failed; no rule matches", src.id(), dst.id(), e);
                return java.util.Optional.empty();
            }
        }

        @Override
        public List<String> nodeAttrs(TailnetNode node) {
            try {
                return p.nodeAttrs(node);
            } catch (RuntimeException e) {
                log.error("policy: node attributes of node {} failed; it gets none", node.id(), e);
                return List.of();
            }
        }
    }
}
