package dev.lattice.control.config;

import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Load-or-create for the server's private key files, in Headscale's format: the text {@code privkey:<64 hex>}
 * (surrounding whitespace ignored), so a Headscale data directory can be reused as is.
 *
 * <p>A new key is written to a temporary file created 0600 in the same directory, fsynced, then linked into place
 * (so two processes racing to create it agree on one key) and the directory fsynced: a crash leaves either no
 * key file or a complete one. Missing parent directories are created 0700. An existing key that group or others
 * can read is used, with a warning, as Headscale does; it is never rewritten.
 */
public final class KeyFiles {
    private static final Logger LOG = LoggerFactory.getLogger(KeyFiles.class);
    /** Far more than {@code privkey:} + 64 hex + a newline; anything bigger is not a key file. */
    private static final int MAX_FILE = 1024;

    private KeyFiles() {}

    /** The ts2021 Noise key ({@code noise.private_key_path}). */
    public static MachinePrivateKey loadOrCreateMachineKey(Path path) {
        return loadOrCreate(path, MachinePrivateKey::generate, MachinePrivateKey::parse, MachinePrivateKey::toText);
    }

    /** The embedded DERP server's key ({@code derp.server.private_key_path}). */
    public static NodePrivateKey loadOrCreateNodeKey(Path path) {
        return loadOrCreate(path, NodePrivateKey::generate, NodePrivateKey::parse, NodePrivateKey::toText);
    }

    /** The Noise key in {@code path} if the file exists (nothing is created). */
    public static Optional<MachinePrivateKey> loadMachineKey(Path path) {
        return read(path).map(c -> parse(path, c, MachinePrivateKey::parse));
    }

    /** The DERP key in {@code path} if the file exists (nothing is created). */
    public static Optional<NodePrivateKey> loadNodeKey(Path path) {
        return read(path).map(c -> parse(path, c, NodePrivateKey::parse));
    }

    private static <K> K loadOrCreate(Path path, Supplier<K> generate, Function<String, K> parse, Function<K, String> text) {
        for (int attempt = 0; attempt < 3; attempt++) {
            Optional<String> existing = read(path);
            if (existing.isPresent()) return parse(path, existing.get(), parse);
            K key = generate.get();
            if (create(path, text.apply(key))) {
                LOG.atInfo().setMessage("created private key file {}").addArgument(path).addKeyValue("path", path.toString()).log();
                return key;
            }
            // Someone else created it between our read and our link: use theirs.
        }
        throw new ConfigException("private key file " + path + " keeps changing; is another server starting?");
    }

    private static <K> K parse(Path path, String content, Function<String, K> parse) {
        try {
            return parse.apply(content.strip());
        } catch (IllegalArgumentException e) {
            // The parser's message says what is wrong without echoing the content (it may be a key).
            throw new ConfigException("private key file " + path + " is malformed: " + e.getMessage()
                    + " (expected privkey:<64 hex digits>)");
        }
    }

    private static Optional<String> read(Path path) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(path)) {
            bytes = in.readNBytes(MAX_FILE + 1);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (AccessDeniedException e) {
            throw new ConfigException("private key file " + path + " is not readable by this user", e);
        } catch (IOException e) {
            throw new ConfigException("cannot read private key file " + path + ": " + e.getMessage(), e);
        }
        if (bytes.length > MAX_FILE) {
            throw new ConfigException("private key file " + path + " is malformed: larger than " + MAX_FILE + " bytes");
        }
        permissionProblem(path).ifPresent(p -> LOG.warn("private key file {} {}; chmod 600 it", path, p));
        return Optional.of(new String(bytes, StandardCharsets.US_ASCII));
    }

    /** A description of what is too open about a key file's permissions, if anything (POSIX file systems only). */
    public static Optional<String> permissionProblem(Path path) {
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(path);
            if (p.contains(PosixFilePermission.OTHERS_READ)) return Optional.of("is readable by every user");
            if (p.contains(PosixFilePermission.GROUP_READ)) return Optional.of("is readable by its group");
            return Optional.empty();
        } catch (UnsupportedOperationException | IOException e) {
            return Optional.empty();
        }
    }

    /** Writes {@code content} as a new 0600 file; false if the file appeared meanwhile. */
    private static boolean create(Path path, String content) {
        Path dir = path.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            tmp = Files.createTempFile(dir, "." + path.getFileName(), ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(content.getBytes(StandardCharsets.US_ASCII));
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
            try {
                // A hard link never replaces an existing file, unlike rename.
                Files.createLink(path, tmp);
            } catch (FileAlreadyExistsException e) {
                return false;
            } catch (UnsupportedOperationException | FileSystemException e) {
                if (Files.exists(path)) return false;
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
                tmp = null;
            }
            fsyncDirectory(dir);
            return true;
        } catch (IOException e) {
            throw new ConfigException("cannot create private key file " + path + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // A stray temp file is harmless; the key file is what matters.
                }
            }
        }
    }

    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems refuse to open or sync a directory; the file itself is already durable.
            LOG.debug("could not fsync directory {}: {}", dir, e.toString());
        }
    }
}
