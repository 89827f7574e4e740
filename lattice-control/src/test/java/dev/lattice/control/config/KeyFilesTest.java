package dev.lattice.control.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Private key files: Headscale's text format, created once with tight permissions, reused afterwards. */
class KeyFilesTest {
    private static final String ALICE_PRIV = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";

    @TempDir
    Path dir;

    @Test
    void createsAMissingKeyWith0600InNew0700Directories() throws Exception {
        Path file = dir.resolve("a/b/noise_private.key");
        MachinePrivateKey k = KeyFiles.loadOrCreateMachineKey(file);

        assertThat(Files.readString(file)).isEqualTo(k.toText()).matches("privkey:[0-9a-f]{64}");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("a")))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("a/b")))).isEqualTo("rwx------");
        try (var s = Files.list(file.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("noise_private.key");
        }
        assertThat(KeyFiles.loadOrCreateMachineKey(file)).isEqualTo(k);
    }

    @Test
    void readsAHeadscaleKeyFileWithSurroundingWhitespace() throws Exception {
        Path file = dir.resolve("derp_server_private.key");
        Files.writeString(file, "  privkey:" + ALICE_PRIV + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        assertThat(KeyFiles.loadOrCreateNodeKey(file)).isEqualTo(NodePrivateKey.fromHex(ALICE_PRIV));
        assertThat(KeyFiles.loadOrCreateMachineKey(file)).isEqualTo(MachinePrivateKey.fromHex(ALICE_PRIV));
    }

    @Test
    void aWorldReadableKeyIsUsedButReported() throws Exception {
        Path file = dir.resolve("k");
        Files.writeString(file, "privkey:" + ALICE_PRIV);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(KeyFiles.loadOrCreateMachineKey(file)).isEqualTo(MachinePrivateKey.fromHex(ALICE_PRIV));
        assertThat(KeyFiles.permissionProblem(file)).contains("is readable by every user");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        assertThat(KeyFiles.permissionProblem(file)).contains("is readable by its group");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        assertThat(KeyFiles.permissionProblem(file)).isEmpty();
    }

    @Test
    void malformedKeyFilesAreClearErrorsThatDoNotEchoTheContent() throws Exception {
        Path file = dir.resolve("k");
        for (String bad : List.of("", "privkey:abc", "mkey:" + ALICE_PRIV, "privkey:" + ALICE_PRIV.replace('7', 'z'),
                "privkey:" + ALICE_PRIV + ALICE_PRIV, "x".repeat(5000))) {
            Files.writeString(file, bad);
            assertThatThrownBy(() -> KeyFiles.loadOrCreateMachineKey(file))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("private key file " + file + " is malformed")
                    .hasMessageNotContaining(ALICE_PRIV.substring(0, 16));
            assertThat(Files.readString(file)).isEqualTo(bad);
        }
    }

    @Test
    void concurrentCreatorsAgreeOnOneKey() throws Exception {
        Path file = dir.resolve("race/noise.key");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<MachinePrivateKey>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) fs.add(pool.submit((Callable<MachinePrivateKey>) () -> KeyFiles.loadOrCreateMachineKey(file)));
            MachinePrivateKey first = fs.get(0).get();
            for (Future<MachinePrivateKey> f : fs) assertThat(f.get()).isEqualTo(first);
            assertThat(KeyFiles.loadOrCreateMachineKey(file)).isEqualTo(first);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anUnreadableDirectoryIsAClearError() throws Exception {
        Path blocker = dir.resolve("file");
        Files.writeString(blocker, "not a dir");
        assertThatThrownBy(() -> KeyFiles.loadOrCreateMachineKey(blocker.resolve("k")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(blocker.resolve("k").toString());
    }
}
