package dev.lattice.agent.cert;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tailscaled's file layout with the modes a private key needs; the account key survives a restart; a key and
 * certificate that do not belong together read as no certificate, never as a broken pair.
 */
class CertStoreTest {
    @TempDir
    Path state;

    @Test
    void keysAreOwnerOnlyAndTheAccountKeyIsKept() throws Exception {
        CertStore store = new CertStore(state);
        KeyPair account = store.accountKey();
        assertThat(new CertStore(state).accountKey().getPublic()).isEqualTo(account.getPublic());
        assertThat(mode(state.resolve("certs"))).isEqualTo("rwx------");
        assertThat(mode(state.resolve("certs/acme-account.key.pem"))).isEqualTo("rw-------");

        KeyPair key = TestCerts.key();
        Instant now = Instant.now();
        String chain = TestCerts.pem(TestCerts.cert(key, "n.example", now, now.plus(Duration.ofDays(90))));
        store.write("n.example", chain, key);
        assertThat(mode(state.resolve("certs/n.example.key"))).isEqualTo("rw-------");
        assertThat(mode(state.resolve("certs/n.example.crt"))).isEqualTo("rw-r--r--");
        var read = store.read("n.example").orElseThrow();
        assertThat(read.pair().certPem()).isEqualTo(chain);
        assertThat(read.pair().keyPem()).contains("PRIVATE KEY");
        assertThat(read.pair().toString()).doesNotContain("PRIVATE KEY");
        try (var files = Files.list(state.resolve("certs"))) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no temporary files left")
                    .containsExactlyInAnyOrder("acme-account.key.pem", "n.example.key", "n.example.crt");
        }
    }

    @Test
    void aKeyThatDoesNotMatchItsCertificateReadsAsNone() throws Exception {
        CertStore store = new CertStore(state);
        Instant now = Instant.now();
        KeyPair a = TestCerts.key();
        store.write("n.example", TestCerts.pem(TestCerts.cert(a, "n.example", now, now.plusSeconds(3600))), a);
        assertThat(store.read("n.example")).isPresent();
        // killed between writing a new key and its certificate: the new key sits beside the old certificate
        Files.writeString(state.resolve("certs/n.example.key"), CertStore.pem(TestCerts.key()));
        assertThat(store.read("n.example")).isEmpty();
        Files.writeString(state.resolve("certs/n.example.crt"), "garbage");
        assertThat(store.read("n.example")).isEmpty();
        assertThat(store.read("never.example")).isEmpty();
    }

    static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }
}
