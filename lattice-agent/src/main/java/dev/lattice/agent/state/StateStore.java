package dev.lattice.agent.state;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

/**
 * The state file {@code <statedir>/lattice.state}: JSON, mode 0600 from the moment it exists. Every save writes a
 * new temp file (created 0600, never wider), fsyncs it, renames it over the old file and fsyncs the directory, so a
 * crash at any point leaves either the old or the new state, whole. Leftover temp files from a crash are removed on
 * open. Thread-safe.
 */
public final class StateStore {
    public static final String FILE = "lattice.state";
    private static final String TEMP_PREFIX = FILE + ".tmp-";
    private static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> OWNER_RWX = PosixFilePermissions.fromString("rwx------");
    private static final int VERSION = 1;
    /** A state file is a few hundred bytes; refuse to read absurd ones. */
    private static final long MAX_SIZE = 1 << 20;
    private static final Logger log = LoggerFactory.getLogger(StateStore.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Path dir;
    private final Path file;
    private AgentState state;
    /** Bumped by each change in memory; {@link #saved} is the newest on disk. Guarded by {@code this}. */
    private long version;
    private long saved;
    /** Held by whoever writes, so writes go out in order; readers of the state never wait for the disk. */
    private final Object writing = new Object();

    private StateStore(Path dir, AgentState state) {
        this.dir = dir;
        this.file = dir.resolve(FILE);
        this.state = state;
    }

    /**
     * Opens the state in {@code dir} (created 0700 if missing). A missing file means a new machine: fresh keys and
     * default prefs are generated and saved at once, so the machine key never changes afterwards.
     *
     * @throws StateException if the file exists but cannot be parsed
     */
    public static StateStore open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_RWX));
        removeLeftoverTemps(dir);
        Path file = dir.resolve(FILE);
        AgentState loaded = read(file);
        if (loaded != null) {
            if (!Files.getPosixFilePermissions(file).equals(OWNER_RW)) {
                log.warn("{} was readable by others; setting mode 0600", file);
                Files.setPosixFilePermissions(file, OWNER_RW);
            }
            return new StateStore(dir, loaded);
        }
        StateStore s = new StateStore(dir, AgentState.generate());
        s.write(s.state);
        log.info("new state in {} (machine {})", file, s.state.machineKey().publicKey());
        return s;
    }

    public Path file() {
        return file;
    }

    public synchronized AgentState state() {
        return state;
    }

    public synchronized Prefs prefs() {
        return state.prefs();
    }

    /** Replaces the state with {@code f(state)} and saves it durably before returning it. */
    public AgentState update(UnaryOperator<AgentState> f) throws IOException {
        synchronized (writing) {
            AgentState next;
            synchronized (this) {
                next = f.apply(state);
                if (next.equals(state) && version == saved) return state;
            }
            write(next); // the disk first: a failed write leaves the state as it was
            synchronized (this) {
                state = next;
                saved = ++version;
            }
            return next;
        }
    }

    public AgentState updatePrefs(UnaryOperator<Prefs> f) throws IOException {
        return update(s -> s.withPrefs(f.apply(s.prefs())));
    }

    /**
     * Replaces the prefs in memory only, for a caller with work to overlap with the disk's (an {@code up} logs in
     * while its prefs are written); {@link #flush} then saves them. Until then a kill leaves the previous prefs on
     * disk, a whole state as it was.
     */
    public Prefs stagePrefs(UnaryOperator<Prefs> f) {
        synchronized (writing) {
            synchronized (this) {
                AgentState next = state.withPrefs(f.apply(state.prefs()));
                if (!next.equals(state)) {
                    state = next;
                    version++;
                }
                return state.prefs();
            }
        }
    }

    /** Saves what {@link #stagePrefs} changed, durably; returns at once if the disk has it already. */
    public void flush() throws IOException {
        synchronized (writing) {
            AgentState s;
            long v;
            synchronized (this) {
                if (version == saved) return;
                s = state;
                v = version;
            }
            write(s);
            synchronized (this) {
                saved = v;
            }
        }
    }

    private void write(AgentState s) throws IOException {
        AtomicFile.write(file, encode(s), OWNER_RW);
    }

    private static void removeLeftoverTemps(Path dir) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, TEMP_PREFIX + "*")) {
            for (Path p : ds) {
                log.info("removing {} left by an interrupted save", p.getFileName());
                Files.deleteIfExists(p);
            }
        }
    }

    static AgentState read(Path file) throws IOException {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_SIZE) throw new StateException(file + " is larger than " + MAX_SIZE + " bytes");
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        }
        return decode(bytes, file.toString());
    }

    static byte[] encode(AgentState s) {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(new FileForm(VERSION, s.machineKey().toText(),
                s.nodeKey().toText(), s.oldNodeKey() == null ? null : s.oldNodeKey().toText(), s.prefs()));
    }

    static AgentState decode(byte[] bytes, String name) throws StateException {
        FileForm f;
        try {
            f = JSON.readValue(bytes, FileForm.class);
        } catch (JacksonException e) {
            // The message may quote the input: keep it out (it holds private keys).
            throw new StateException(name + " is not a valid state file (JSON error at " + e.getLocation() + ")");
        }
        if (f == null || f.version() == null) throw new StateException(name + " has no Version");
        if (f.version() != VERSION) throw new StateException(name + " has unsupported Version " + f.version());
        if (f.machineKey() == null || f.nodeKey() == null) throw new StateException(name + " lacks MachineKey or NodeKey");
        try {
            return new AgentState(MachinePrivateKey.parse(f.machineKey()), NodePrivateKey.parse(f.nodeKey()),
                    f.oldNodeKey() == null ? null : NodePrivateKey.parse(f.oldNodeKey()),
                    f.prefs() == null ? Prefs.defaults() : f.prefs());
        } catch (IllegalArgumentException e) {
            throw new StateException(name + " has a malformed key");
        }
    }

    /** The file's JSON shape; keys in their {@code privkey:<hex>} text form. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    record FileForm(
            @JsonProperty("Version") Integer version,
            @JsonProperty("MachineKey") String machineKey,
            @JsonProperty("NodeKey") String nodeKey,
            @JsonProperty("OldNodeKey") String oldNodeKey,
            @JsonProperty("Prefs") Prefs prefs) {
        @Override
        public String toString() {
            return "FileForm[redacted]";
        }
    }

    /** The state file exists but is unusable; the message names the file, never its contents. */
    public static final class StateException extends IOException {
        public StateException(String message) {
            super(message);
        }
    }
}
