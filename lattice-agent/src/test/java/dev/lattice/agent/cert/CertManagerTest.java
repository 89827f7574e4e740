package dev.lattice.agent.cert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When a certificate is served from the cache and when the CA is asked: fresh (before two thirds of its lifetime)
 * from the cache alone; past that the cached one is still served and a renewal contacts the CA in the background;
 * expired or missing, the CA is asked at once. The "CA" here accepts connections and says nothing, so being asked
 * shows as a connection (and, for a caller that waits, as a failure).
 */
class CertManagerTest {
    static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
    @TempDir
    Path state;
    ServerSocket ca;
    final Semaphore contacted = new Semaphore(0);

    @BeforeEach
    void ca() throws IOException {
        ca = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!ca.isClosed()) {
                try {
                    Socket s = ca.accept();
                    s.close(); // no TLS: the client's handshake fails at once
                    contacted.release();
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    @AfterEach
    void close() throws IOException {
        ca.close();
    }

    CertManager manager(Instant now) throws Exception {
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, null, null);
        return new CertManager(new CertStore(state), URI.create("https://127.0.0.1:" + ca.getLocalPort() + "/dir"), ssl,
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
    void aFreshCertificateComesFromTheCacheWithoutAskingTheCa() throws Exception {
        stored(NOW.minus(Duration.ofDays(10)), NOW.plus(Duration.ofDays(80)));
        List<String> published = new ArrayList<>();
        CertPair p = manager(NOW).get("n.example", (n, v) -> published.add(n));
        assertThat(p.certPem()).contains("BEGIN CERTIFICATE");
        assertThat(contacted.tryAcquire(300, TimeUnit.MILLISECONDS)).as("the CA was contacted").isFalse();
        assertThat(published).isEmpty();
    }

    @Test
    void pastTwoThirdsTheCachedOneIsServedWhileARenewalAsksTheCa() throws Exception {
        stored(NOW.minus(Duration.ofDays(70)), NOW.plus(Duration.ofDays(20)));
        CertPair p = manager(NOW).get("n.example", (n, v) -> { });
        assertThat(p.certPem()).contains("BEGIN CERTIFICATE");
        assertThat(contacted.tryAcquire(10, TimeUnit.SECONDS)).as("a renewal contacted the CA").isTrue();
    }

    @Test
    void anExpiredOrMissingCertificateIsOrderedAtOnce() throws Exception {
        assertThatThrownBy(() -> manager(NOW).get("n.example", (n, v) -> { })).isInstanceOf(IOException.class);
        assertThat(contacted.tryAcquire(5, TimeUnit.SECONDS)).isTrue();
        stored(NOW.minus(Duration.ofDays(100)), NOW.minus(Duration.ofDays(10)));
        assertThatThrownBy(() -> manager(NOW).get("n.example", (n, v) -> { })).isInstanceOf(IOException.class);
        assertThat(contacted.tryAcquire(5, TimeUnit.SECONDS)).isTrue();
    }
}
