package dev.lattice.agent.cert;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Go's rules for the trusted CAs: SSL_CERT_FILE replaces the bundle files, the directories are read either way. */
class GoTrustTest {
    @TempDir
    Path dir;

    Path pem(String name, String cn) throws Exception {
        KeyPair k = TestCerts.key();
        Path f = dir.resolve(name);
        Files.writeString(f, TestCerts.pem(TestCerts.cert(k, cn, Instant.now(), Instant.now().plusSeconds(3600))));
        return f;
    }

    static List<String> subjects(KeyStore ks) throws Exception {
        if (ks == null) return List.of();
        List<String> out = new java.util.ArrayList<>();
        for (String a : Collections.list(ks.aliases())) {
            out.add(((java.security.cert.X509Certificate) ks.getCertificate(a)).getSubjectX500Principal().getName());
        }
        out.sort(null);
        return out;
    }

    @Test
    void sslCertFileReplacesTheBundlesAndDirectoriesAreAddedAsGoDoes() throws Exception {
        Path bundle = pem("system-bundle.pem", "system");
        Path mine = pem("mine.pem", "mine");
        Files.createDirectories(dir.resolve("d"));
        Files.move(pem("extra.pem", "extra"), dir.resolve("d/extra.pem"));
        Files.writeString(dir.resolve("d/README"), "not a certificate");
        List<String> files = List.of(dir.resolve("missing.pem").toString(), bundle.toString());
        List<String> dirs = List.of(dir.resolve("d").toString());

        assertThat(subjects(GoTrust.trustStore(Map.of(), files, dirs))).containsExactly("CN=extra", "CN=system");
        assertThat(subjects(GoTrust.trustStore(Map.of("SSL_CERT_FILE", mine.toString()), files, dirs)))
                .containsExactly("CN=extra", "CN=mine");
        assertThat(subjects(GoTrust.trustStore(Map.of("SSL_CERT_FILE", mine.toString(), "SSL_CERT_DIR", dir.resolve("none").toString()),
                files, dirs))).containsExactly("CN=mine");
        // nothing at all: null, the JDK's own store is used
        assertThat(GoTrust.trustStore(Map.of("SSL_CERT_FILE", dir.resolve("missing.pem").toString()), files, List.of())).isNull();
        assertThat(GoTrust.sslContext(Map.of("SSL_CERT_FILE", mine.toString()))).isNotNull();
    }
}
