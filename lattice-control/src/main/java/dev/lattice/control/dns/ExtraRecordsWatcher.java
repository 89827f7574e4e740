package dev.lattice.control.dns;

import dev.lattice.control.config.ConfigException;
import dev.lattice.wire.tailcfg.DNSRecord;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The records of a {@code dns.extra_records_path} file, kept current as Headscale's {@code ExtraRecordsMan} keeps
 * them: the file must be readable and well-formed at start (else the server does not start), later changes are
 * picked up, and a later file that is malformed, empty or missing leaves the last good records in place.
 *
 * <p>Changes are seen through a watch on the file's directory (inotify on Linux), so a write in place, an atomic
 * replace (write a temporary file, rename it over), a copy, and a delete followed by a re-create all count, and a
 * symlinked file (a Kubernetes ConfigMap) follows its target's swaps. The file is also re-read every {@link #POLL},
 * which covers what a watch cannot see (a change made on another NFS client, a directory that went away and came
 * back); a re-read that finds the same bytes does nothing.
 */
public final class ExtraRecordsWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ExtraRecordsWatcher.class);
    /** Events closer together than this are one change (an editor's truncate + write, a copy in several writes). */
    static final Duration DEBOUNCE = Duration.ofMillis(100);
    static final Duration POLL = Duration.ofSeconds(10);
    private static final String KEY = "dns.extra_records_path";

    private final Path path;
    private final Path dir;
    private final Path name;
    private final Duration poll;
    private final boolean useWatch;
    private volatile List<DNSRecord> records;
    // Guarded by this: what the last good and the last refused content were, and whether the file was missing.
    private byte[] goodHash;
    private byte[] badHash;
    private boolean missing;
    private Consumer<List<DNSRecord>> onChange = r -> {};
    private WatchService watcher;
    private WatchKey key;
    private Thread thread;
    private volatile boolean closed;

    private ExtraRecordsWatcher(Path path, Duration poll, boolean useWatch) {
        this.path = path.toAbsolutePath().normalize();
        this.dir = this.path.getParent();
        this.name = this.path.getFileName();
        this.poll = poll;
        this.useWatch = useWatch;
    }

    /**
     * Reads the file once, refusing to start as Headscale does when it is missing, a directory, or malformed. An
     * empty file (or JSON {@code null}) means no records yet.
     *
     * @throws ConfigException naming the key, the file and the problem
     */
    public static ExtraRecordsWatcher open(Path path) {
        return open(path, POLL, true);
    }

    /** With another re-read period, or (useWatch false) with polling alone: for tests. */
    static ExtraRecordsWatcher open(Path path, Duration poll, boolean useWatch) {
        ExtraRecordsWatcher w = new ExtraRecordsWatcher(path, poll, useWatch);
        w.readAtStart();
        return w;
    }

    private synchronized void readAtStart() {
        if (Files.isDirectory(path)) throw new ConfigException(KEY + ": " + path + " is a directory; it must name a JSON file");
        byte[] content;
        try {
            content = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new ConfigException(KEY + ": cannot read " + path + ": no such file");
        } catch (IOException e) {
            throw new ConfigException(KEY + ": cannot read " + path + ": " + e.getMessage());
        }
        Optional<List<DNSRecord>> parsed;
        try {
            parsed = ExtraRecordsFile.parse(content);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(KEY + ": " + path + ": " + e.getMessage());
        }
        records = parsed.orElse(List.of());
        if (parsed.isPresent()) goodHash = sha256(content);
        log.info("{}: {} records from {}", KEY, records.size(), path);
    }

    /** The records in force, sorted; never null. */
    public List<DNSRecord> records() {
        return records;
    }

    /** Starts following the file; {@code onChange} gets each new set of records, on the watcher's thread. */
    public synchronized void start(Consumer<List<DNSRecord>> onChange) {
        if (thread != null) throw new IllegalStateException("already started");
        this.onChange = onChange;
        if (useWatch) {
            try {
                watcher = FileSystems.getDefault().newWatchService();
            } catch (IOException | UnsupportedOperationException e) {
                log.warn("{}: cannot watch {} ({}); re-reading it every {} s instead", KEY, dir, e.toString(), poll.toSeconds());
            }
        }
        if (watcher != null) register(false);
        thread = Thread.ofPlatform().name("extra-records-watch").daemon().start(this::run);
    }

    /** Watches the directory; after a gap (it went away and came back) re-reads, as events may have been missed. */
    private void register(boolean afterGap) {
        try {
            key = dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
            if (afterGap) {
                log.info("{}: watching {} again", KEY, dir);
                reload();
            }
        } catch (IOException e) {
            key = null; // the directory is gone for now: the periodic re-read goes on, and the next one retries
        }
    }

    private void run() {
        while (!closed) {
            try {
                if (watcher == null) {
                    Thread.sleep(poll.toMillis());
                    reload();
                    continue;
                }
                if (key == null) register(true);
                WatchKey k = watcher.poll(poll.toMillis(), TimeUnit.MILLISECONDS);
                if (k == null) {
                    reload();
                    continue;
                }
                boolean ours = drain(k);
                // Several events for one change arrive close together; re-read once they stop.
                while ((k = watcher.poll(DEBOUNCE.toMillis(), TimeUnit.MILLISECONDS)) != null) ours |= drain(k);
                if (ours) reload();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            } catch (RuntimeException e) {
                log.warn("{}: watching {} failed ({}); re-reading it every {} s", KEY, path, e.toString(), poll.toSeconds());
            }
        }
    }

    /** Takes a key's events: true if one may concern the file. Resets the key, or drops it if the directory went. */
    private boolean drain(WatchKey k) {
        boolean ours = false;
        for (WatchEvent<?> ev : k.pollEvents()) {
            // OVERFLOW has no context: events were lost. A symlinked file changes through other names in the directory.
            ours |= ev.context() == null || name.equals(ev.context()) || Files.isSymbolicLink(path);
        }
        if (!k.reset() && k == key) {
            key = null;
            log.warn("{}: directory {} is gone; re-reading {} every {} s until it is back", KEY, dir, name, poll.toSeconds());
            ours = true;
        }
        return ours;
    }

    /**
     * Re-reads the file. New, well-formed records replace the old ones and are handed on; anything else keeps the
     * last good records and is logged once (per disappearance, per refused content).
     */
    synchronized void reload() {
        if (closed) return;
        byte[] content;
        try {
            content = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            if (!missing) {
                missing = true;
                log.warn("{}: {} is gone; still serving the last {} records until it is back", KEY, path, records.size());
            }
            return;
        } catch (IOException e) {
            if (!missing) {
                missing = true;
                log.warn("{}: cannot read {} ({}); still serving the last {} records", KEY, path, e.getMessage(), records.size());
            }
            return;
        }
        if (missing) log.info("{}: {} is back", KEY, path);
        missing = false;
        byte[] hash = sha256(content);
        if (Arrays.equals(hash, goodHash) || Arrays.equals(hash, badHash)) return;
        Optional<List<DNSRecord>> parsed;
        try {
            parsed = ExtraRecordsFile.parse(content);
        } catch (IllegalArgumentException e) {
            badHash = hash;
            log.error("{}: {} is not usable: {}; still serving the last {} good records", KEY, path, e.getMessage(),
                    records.size());
            return;
        }
        if (parsed.isEmpty()) return; // empty file or null: a writer caught half-way, as Headscale treats it
        goodHash = hash;
        badHash = null;
        if (parsed.get().equals(records)) return;
        records = parsed.get();
        log.info("{}: {} records from {}", KEY, records.size(), path);
        try {
            onChange.accept(records);
        } catch (RuntimeException e) {
            log.error("{}: handing on the new records failed", KEY, e);
        }
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        closed = true;
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (watcher != null) {
            try {
                watcher.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        if (t != null) t.interrupt();
    }
}
