package dev.lattice.agent.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * Files the agent keeps (state, serve config, certificates and keys) are replaced whole: written to a temporary file
 * beside the target with the target's mode from its first instant, synced, renamed over the target, and the
 * directory synced. A kill -9 at any moment leaves the old file or the new one, never a torn or wider-readable one.
 */
public final class AtomicFile {
    public static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");
    private static final SecureRandom RANDOM = new SecureRandom();

    private AtomicFile() {}

    /** Replaces {@code target} with {@code content}, mode {@code mode}. */
    public static void write(Path target, byte[] content, Set<PosixFilePermission> mode) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        byte[] r = new byte[8];
        RANDOM.nextBytes(r);
        Path tmp = dir.resolve(tempPrefix(target) + HexFormat.of().formatHex(r));
        try {
            // CREATE_NEW with the attribute: the file has at most the mode from its first instant (umask can only
            // narrow it, and the exact mode is set before the rename).
            try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(mode))) {
                ByteBuffer b = ByteBuffer.wrap(content);
                while (b.hasRemaining()) ch.write(b);
                ch.force(true);
            }
            Files.setPosixFilePermissions(tmp, mode);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        syncDirectory(dir);
    }

    /** Deletes {@code target} and syncs its directory, so the deletion survives a crash too. */
    public static void delete(Path target) throws IOException {
        if (Files.deleteIfExists(target)) syncDirectory(target.toAbsolutePath().getParent());
    }

    /** Removes temporary files an interrupted {@link #write} of {@code target} left behind; returns their number. */
    public static int removeLeftovers(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) return 0;
        int n = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, tempPrefix(target) + "*")) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
                n++;
            }
        }
        return n;
    }

    private static String tempPrefix(Path target) {
        return target.getFileName() + ".tmp-";
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // some file systems cannot sync a directory; the rename itself is still atomic
        }
    }
}
