package dev.lattice.testlab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A throw-away network of Linux network namespaces for tests: hosts ({@link Host}), veth links
 * ({@link Link}) and switches ({@link Switch}), with processes and firewall rules inside them.
 *
 * <pre>{@code
 * Support s = Lab.support();
 * Assumptions.assumeTrue(s.available(), s.reason());
 * try (Lab lab = new Lab()) {
 *     Host a = lab.host("a"), b = lab.host("b");
 *     Link l = lab.link(a, b);
 *     a.addAddress(l.aDev(), "192.168.7.1/24");
 *     b.addAddress(l.bDev(), "192.168.7.2/24");
 *     assertTrue(a.ping("192.168.7.2", 1, Duration.ofSeconds(1)).anyReceived());
 * }
 * }</pre>
 *
 * <p>Every namespace is named {@code lt-<id>-<host>}, where {@code id} is random per lab, so parallel runs
 * never clash. {@link #close()} stops the lab's processes, kills anything else left in its namespaces and
 * deletes them (which deletes their links), even if some step fails. A JVM shutdown hook closes labs left
 * open, and each new lab first reaps namespaces of labs whose JVM died without cleaning up (tracked in
 * {@code /run/lattice-testlab/<id>.lab}).
 *
 * <p>Needs Linux, root and iproute2; check {@link #support()} first. Traffic must stay inside the lab: the
 * namespaces have no route to the outside unless a test adds one, and tests must not add one.
 *
 * <p>Set system property {@code lattice.testlab.keepLogs=true} (or env {@code LATTICE_TESTLAB_KEEP_LOGS=1})
 * to keep each lab's work directory (process logs) after close.
 */
public final class Lab implements AutoCloseable {
    /** Prefix of every namespace a lab creates. */
    public static final String PREFIX = "lt-";

    private static final System.Logger LOG = System.getLogger(Lab.class.getName());
    private static final Path LEDGER_DIR = Path.of("/run/lattice-testlab");
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,19}");
    private static final Pattern DEV = Pattern.compile("[A-Za-z0-9._-]{1,15}");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<Lab> OPEN = ConcurrentHashMap.newKeySet();
    private static volatile Support cachedSupport;
    private static volatile String ip;

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("lattice-testlab-cleanup").unstarted(() -> {
            for (Lab lab : List.copyOf(OPEN)) {
                try {
                    lab.close();
                } catch (RuntimeException e) {
                    System.err.println("lattice-testlab: cleanup of lab " + lab.id + " at exit failed: " + e);
                }
            }
        }));
    }

    private final String id;
    private final Path workDir;
    private final Path ledger;
    private final boolean keepWorkDir;
    private final List<Host> hosts = new ArrayList<>();
    private final List<BackgroundProcess> processes = new ArrayList<>();
    private final List<Path> filesToDelete = new ArrayList<>();
    private boolean closed;

    /**
     * Creates an empty lab (no namespaces yet). First reaps leftovers of labs whose JVM has died.
     *
     * @throws LabException if {@link #support()} says the lab cannot run here
     */
    public Lab() {
        Support s = support();
        if (!s.available()) {
            throw new LabException("network-namespace lab unavailable: " + s.reason());
        }
        reapOrphans();
        String candidate;
        do {
            candidate = randomId(6);
        } while (Files.exists(LEDGER_DIR.resolve(candidate + ".lab")) || idInUse(candidate));
        this.id = candidate;
        this.keepWorkDir = Boolean.getBoolean("lattice.testlab.keepLogs")
                || "1".equals(System.getenv("LATTICE_TESTLAB_KEEP_LOGS"));
        try {
            this.workDir = Files.createTempDirectory("lattice-testlab-" + id + "-");
            Files.createDirectories(LEDGER_DIR);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.ledger = LEDGER_DIR.resolve(id + ".lab");
        ProcessHandle me = ProcessHandle.current();
        long start = me.info().startInstant().map(i -> i.toEpochMilli()).orElse(0L);
        record("owner " + me.pid() + " " + start);
        record("workdir " + workDir);
        OPEN.add(this);
    }

    /** This lab's random id (6 characters of [a-z0-9]); part of every namespace name. */
    public String id() {
        return id;
    }

    /** A private temp directory for logs, keys and config files; deleted on close unless keepLogs is set. */
    public Path workDir() {
        return workDir;
    }

    /** The hosts (namespaces) created so far, in creation order. */
    public synchronized List<Host> hosts() {
        return List.copyOf(hosts);
    }

    // ---------------------------------------------------------------- building the network

    /**
     * Creates a host: a new namespace {@code lt-<id>-<name>} with {@code lo} up.
     *
     * @param name short, unique within the lab: [a-z0-9-], at most 20 characters
     */
    public Host host(String name) {
        checkOpen();
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("host name must match " + NAME + ": " + name);
        }
        String netns = PREFIX + id + "-" + name;
        Host h;
        synchronized (this) {
            if (hosts.stream().anyMatch(x -> x.name().equals(name))) {
                throw new IllegalArgumentException("host " + name + " exists already");
            }
            record("netns " + netns);
            Exec.run(ipBinary(), "netns", "add", netns).orThrow();
            h = new Host(this, name, netns);
            hosts.add(h);
        }
        h.up("lo");
        return h;
    }

    /** Creates a host with IPv4 and IPv6 forwarding on, to route between its links. */
    public Host router(String name) {
        return host(name).enableForwarding();
    }

    /** Creates a switch: a host holding a bridge that other hosts {@link Switch#connect} to. */
    public Switch newSwitch(String name) {
        return new Switch(host(name));
    }

    /** Connects two hosts with a veth pair named {@code eth<n>} on each side (n counts per host); both up. */
    public Link link(Host a, Host b) {
        return link(a, a.nextDevName("eth"), b, b.nextDevName("eth"));
    }

    /** Connects two hosts with a veth pair with the given device names (at most 15 characters); both up. */
    public Link link(Host a, String aDev, Host b, String bDev) {
        checkOpen();
        if (a.lab() != this || b.lab() != this) {
            throw new IllegalArgumentException("both hosts must belong to this lab");
        }
        if (a == b) {
            throw new IllegalArgumentException("cannot link a host to itself");
        }
        for (String d : List.of(aDev, bDev)) {
            if (!DEV.matcher(d).matches()) {
                throw new IllegalArgumentException("bad device name (1-15 chars of [A-Za-z0-9._-]): " + d);
            }
        }
        // created directly inside the two namespaces: nothing ever appears in the caller's namespace
        Exec.run(ipBinary(), "link", "add", aDev, "netns", a.netns(), "type", "veth",
                "peer", "name", bDev, "netns", b.netns()).orThrow();
        a.up(aDev);
        b.up(bDev);
        return new Link(a, aDev, b, bDev);
    }

    /** Deletes {@code path} (a file, e.g. a daemon's socket) when the lab closes, and after a crash. */
    public void deleteOnClose(Path path) {
        synchronized (this) {
            filesToDelete.add(path);
        }
        record("file " + path.toAbsolutePath());
    }

    // ---------------------------------------------------------------- teardown

    /**
     * Stops every process the lab started (SIGTERM, then SIGKILL after 3 s), kills anything else still inside
     * its namespaces, deletes the namespaces (and with them every link and device in them), the registered
     * files and the work directory. Goes through every step even if some fail, then throws one
     * {@link LabException} listing the failures. Idempotent.
     */
    @Override
    public void close() {
        List<BackgroundProcess> procs;
        List<Host> hs;
        List<Path> files;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            procs = List.copyOf(processes);
            hs = new ArrayList<>(hosts);
            files = List.copyOf(filesToDelete);
        }
        OPEN.remove(this);
        List<String> errors = new ArrayList<>();

        for (BackgroundProcess p : procs) {
            p.termWithoutWaiting();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        for (BackgroundProcess p : procs) {
            long left = Math.max(0, deadline - System.nanoTime());
            if (p.waitFor(Duration.ofNanos(left)).isEmpty()) {
                p.kill();
                if (p.isAlive()) {
                    errors.add("process " + p + " survived SIGKILL");
                }
            }
        }

        java.util.Collections.reverse(hs);
        for (Host h : hs) {
            try {
                deleteNamespace(h.netns());
            } catch (RuntimeException e) {
                errors.add(e.getMessage());
            }
        }
        List<String> left = namespaces().stream().filter(n -> n.startsWith(PREFIX + id + "-")).toList();
        if (!left.isEmpty()) {
            errors.add("namespaces still present after close: " + left);
        }

        for (Path f : files) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                errors.add("cannot delete " + f + ": " + e);
            }
        }
        if (keepWorkDir) {
            System.err.println("lattice-testlab: kept logs of lab " + id + " in " + workDir);
        } else {
            deleteTree(workDir);
        }
        if (errors.isEmpty()) {
            try {
                Files.deleteIfExists(ledger);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cannot delete " + ledger, e);
            }
            return;
        }
        throw new LabException("lab " + id + " closed with errors:\n  " + String.join("\n  ", errors));
    }

    /** Kills every process in a namespace, then deletes it. Throws if it cannot. */
    private static void deleteNamespace(String netns) {
        for (int attempt = 0; attempt < 5; attempt++) {
            ExecResult pids = Exec.run(ipBinary(), "netns", "pids", netns);
            if (!pids.ok()) {
                break; // gone already, or cannot look: try deleting anyway
            }
            List<Long> list = pids.stdout().lines().map(String::strip).filter(s -> !s.isEmpty())
                    .map(Long::parseLong).toList();
            if (list.isEmpty()) {
                break;
            }
            for (long pid : list) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            sleep(Duration.ofMillis(100));
        }
        if (!namespaces().contains(netns)) {
            return;
        }
        ExecResult del = Exec.run(ipBinary(), "netns", "del", netns);
        if (!del.ok() && namespaces().contains(netns)) {
            throw new LabException("cannot delete namespace " + netns + ": " + del.output().strip());
        }
    }

    // ---------------------------------------------------------------- static helpers

    /**
     * Whether labs can run here: Linux, effective uid 0, iproute2's {@code ip} on the PATH, and a namespace can
     * actually be created (checked once per JVM with a throw-away namespace).
     */
    public static Support support() {
        Support s = cachedSupport;
        if (s == null) {
            s = probe();
            cachedSupport = s;
        }
        return s;
    }

    /**
     * {@link #support()}, and also that each of {@code commands} is on the PATH (e.g. {@code "wg", "iperf3"}).
     */
    public static Support support(String... commands) {
        Support s = support();
        if (!s.available()) {
            return s;
        }
        List<String> missing = Stream.of(commands).filter(c -> findCommand(c).isEmpty()).toList();
        return missing.isEmpty() ? Support.OK
                : Support.missing("required command(s) not found on PATH: " + String.join(", ", missing));
    }

    private static Support probe() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return Support.missing("network namespaces need Linux (os.name=" + System.getProperty("os.name") + ")");
        }
        long euid = effectiveUid();
        if (euid != 0) {
            return Support.missing("network namespaces need root (effective uid is " + euid + ")");
        }
        if (findCommand("ip").isEmpty()) {
            return Support.missing("iproute2 `ip` not found on PATH");
        }
        String probe = PREFIX + "probe-" + randomId(8);
        ExecResult add = Exec.run(ipBinary(), "netns", "add", probe);
        Exec.run(ipBinary(), "netns", "del", probe);
        if (!add.ok()) {
            return Support.missing("cannot create a network namespace: " + add.output().strip());
        }
        return Support.OK;
    }

    private static long effectiveUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Long.parseLong(line.substring(4).strip().split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return -1;
    }

    /** Finds an executable on the PATH (plus /usr/sbin and /sbin, which non-login PATHs often lack). */
    public static Optional<Path> findCommand(String name) {
        if (name.contains("/")) {
            Path p = Path.of(name);
            return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
        }
        String path = System.getenv().getOrDefault("PATH", "") + ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin";
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    static String ipBinary() {
        String s = ip;
        if (s == null) {
            s = findCommand("ip").map(Path::toString).orElse("ip");
            ip = s;
        }
        return s;
    }

    /** Names of all named network namespaces on this machine ({@code ip netns list}). */
    public static List<String> namespaces() {
        return Exec.run(ipBinary(), "netns", "list").stdout().lines()
                .map(l -> l.strip().split("\\s+")[0]).filter(s -> !s.isEmpty()).toList();
    }

    /**
     * Deletes the namespaces, files and work directories of labs whose JVM is gone (crashed or killed before
     * its shutdown hook ran). Labs of live JVMs, and namespaces without a ledger, are left alone. Returns how
     * many namespaces were deleted. Called by every new {@link Lab}.
     */
    public static synchronized int reapOrphans() {
        if (!Files.isDirectory(LEDGER_DIR)) {
            return 0;
        }
        int reaped = 0;
        List<Path> ledgers;
        try (Stream<Path> s = Files.list(LEDGER_DIR)) {
            ledgers = s.filter(p -> p.getFileName().toString().endsWith(".lab")).toList();
        } catch (IOException e) {
            return 0;
        }
        for (Path l : ledgers) {
            List<String> lines;
            try {
                lines = Files.readAllLines(l);
            } catch (IOException e) {
                continue;
            }
            if (lines.isEmpty() || ownerAlive(lines.getFirst())) {
                continue;
            }
            boolean clean = true;
            for (String line : lines) {
                String[] kv = line.split(" ", 2);
                if (kv.length < 2) {
                    continue;
                }
                try {
                    switch (kv[0]) {
                        case "netns" -> {
                            if (kv[1].startsWith(PREFIX) && namespaces().contains(kv[1])) {
                                deleteNamespace(kv[1]);
                                reaped++;
                            }
                        }
                        case "file" -> Files.deleteIfExists(Path.of(kv[1]));
                        case "workdir" -> {
                            Path d = Path.of(kv[1]);
                            if (d.getFileName().toString().startsWith("lattice-testlab-")) {
                                deleteTree(d);
                            }
                        }
                        default -> { }
                    }
                } catch (IOException | RuntimeException e) {
                    clean = false;
                    LOG.log(Level.WARNING, "reaping " + line + " of " + l + " failed: " + e);
                }
            }
            if (clean) {
                try {
                    Files.deleteIfExists(l);
                } catch (IOException ignored) {
                    // next time
                }
            }
        }
        if (reaped > 0) {
            System.err.println("lattice-testlab: deleted " + reaped + " namespace(s) left by dead test runs");
        }
        return reaped;
    }

    private static boolean ownerAlive(String ownerLine) {
        String[] f = ownerLine.split(" ");
        if (f.length < 3 || !f[0].equals("owner")) {
            return true; // unknown format: leave it alone
        }
        long pid = Long.parseLong(f[1]);
        long start = Long.parseLong(f[2]);
        return ProcessHandle.of(pid)
                .map(ph -> ph.info().startInstant()
                        .map(i -> start == 0 || Math.abs(i.toEpochMilli() - start) < 2000)
                        .orElse(true))
                .orElse(false);
    }

    // ---------------------------------------------------------------- internals

    synchronized void register(BackgroundProcess p) {
        processes.add(p);
    }

    void checkOpen() {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("lab " + id + " is closed");
            }
        }
    }

    synchronized Path newLogFile(String label) {
        String base = label.replaceAll("[^A-Za-z0-9._-]", "_");
        Path p = workDir.resolve(base + ".log");
        for (int i = 2; Files.exists(p); i++) {
            p = workDir.resolve(base + "-" + i + ".log");
        }
        try {
            Files.createFile(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    private void record(String line) {
        try {
            Files.writeString(ledger, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot write lab ledger " + ledger + ": " + e);
        }
    }

    private static boolean idInUse(String id) {
        return namespaces().stream().anyMatch(n -> n.startsWith(PREFIX + id + "-"));
    }

    private static String randomId(int len) {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot delete " + dir + ": " + e);
        }
    }

    /** Sleeps, turning interruption into a {@link LabException} (keeping the interrupt flag). */
    public static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted", e);
        }
    }

    @Override
    public String toString() {
        return "Lab " + id + " " + hosts();
    }
}
