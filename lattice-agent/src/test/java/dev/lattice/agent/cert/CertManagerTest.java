package dev.lattice.agent.cert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When a certificate is served from the cache and when the CA is asked: fresh (before two thirds of its lifetime)
 * from the cache alone; past that the cached one is still served and a renewal starts; expired or missing, the CA
 * is asked at once. The CA here is an address nothing listens on, so "asked" shows as a failed connection.
 */
class CertManagerTest {
    static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
    @TempDir
    Path state;

    CertManager manager(Instant now) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, null, null);
        return new CertManager(new CertStore(state), URI.create("https://127.0.0.1:" + port + "/dir"), ssl,
                Clock.fixed(now, ZoneOffset.UTC));
    }

    void stored(Instant from, Instant to) throws Exception {
        KeyPair k = TestCerts.key();
        new CertStore(state).write("n.example", TestCerts.pem(TestCerts.cert(k, "n.example", from, to)), k);
    }

    @Test
    void renewalIsDueTwoThirdsIntoTheLifetime() throws Exception {
        KeyPair k = TestCerts.key();
        assertThat(CertManager.renewAt(TestCerts.cert(k, "x", NOW, NOW.plus(Duration.ofDays(90)))))
                .isEqualTo(NOW.plus(Duration.ofDays(60)));
    }

    @Test
    void aFreshCertificateComesFromTheCacheWithoutAskingAnyone() throws Exception {
        stored(NOW.minus(Duration.ofDays(10)), NOW.plus(Duration.ofDays(80)));
        List<String> published = new ArrayList<>();
        CertPair p = manager(NOW).get("n.example", (n, v) -> published.add(n));
        assertThat(p.certPem()).contains("BEGIN CERTIFICATE");
        assertThat(published).isEmpty();
    }

    @Test
    void pastTwoThirdsTheCachedOneIsServedWhileARenewalRuns() throws Exception {
        stored(NOW.minus(Duration.ofDays(70)), NOW.plus(Duration.ofDays(20)));
        CertManager m = manager(NOW);
        CertPair p = m.get("n.example", (n, v) -> { });
        assertThat(p.certPem()).contains("BEGIN CERTIFICATE");
    }

    @Test
    void anExpiredOrMissingCertificateIsOrderedAtOnce() throws Exception {
        assertThatThrownBy(() -> manager(NOW).get("n.example", (n, v) -> { })).isInstanceOf(IOException.class);
        stored(NOW.minus(Duration.ofDays(100)), NOW.minus(Duration.ofDays(10)));
        assertThatThrownBy(() -> manager(NOW).get("n.example", (n, v) -> { })).isInstanceOf(IOException.class);
    }
}
