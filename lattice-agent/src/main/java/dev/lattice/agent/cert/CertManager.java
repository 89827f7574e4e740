package dev.lattice.agent.cert;

import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLContext;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Dns01Challenge;
import org.shredzone.acme4j.connector.HttpConnector;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.provider.GenericAcmeProvider;
import org.shredzone.acme4j.util.KeyPairUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Certificates for the node's names, as tailscaled's {@code feature/acme} gets them: from the cache while fresh;
 * past two thirds of its lifetime the cached one is still served while a renewal runs in the background; a missing
 * or expired one is obtained at once, through ACME DNS-01 with the challenge published by the control server.
 * One order per domain at a time.
 */
public final class CertManager {
    private static final Logger log = LoggerFactory.getLogger(CertManager.class);
    /** Let's Encrypt's production directory, tailscaled's default. */
    public static final URI LETS_ENCRYPT = URI.create("https://acme-v02.api.letsencrypt.org/directory");
    static final Duration WAIT = Duration.ofMinutes(2);

    /** Publishes a challenge TXT record (the control server's {@code /machine/set-dns}). */
    public interface ChallengePublisher {
        void setTxt(String name, String value) throws IOException;
    }

    private final CertStore store;
    private final URI directory;
    private final SSLContext ssl;
    private final Clock clock;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final Map<String, Boolean> renewing = new ConcurrentHashMap<>();

    public CertManager(CertStore store, URI directory, SSLContext ssl, Clock clock) {
        this.store = store;
        this.directory = directory;
        this.ssl = ssl;
        this.clock = clock;
    }

    /** tailscaled's directory: {@code TS_DEBUG_ACME_DIRECTORY_URL} when set, else Let's Encrypt. */
    public static URI directoryFromEnv() {
        String u = System.getenv("TS_DEBUG_ACME_DIRECTORY_URL");
        return u == null || u.isBlank() ? LETS_ENCRYPT : URI.create(u);
    }

    /** When a certificate should be renewed: two thirds into its validity. */
    static Instant renewAt(X509Certificate leaf) {
        Instant from = leaf.getNotBefore().toInstant();
        Instant to = leaf.getNotAfter().toInstant();
        return from.plus(Duration.between(from, to).multipliedBy(2).dividedBy(3));
    }

    /** The certificate and key for {@code domain} (one of the node's CertDomains; the caller checks). */
    public CertPair get(String domain, ChallengePublisher dns) throws IOException {
        Instant now = clock.instant();
        Optional<CertStore.Stored> cached = store.read(domain);
        if (cached.isPresent() && now.isBefore(cached.get().leaf().getNotAfter().toInstant())) {
            if (now.isBefore(renewAt(cached.get().leaf()))) return cached.get().pair();
            if (renewing.putIfAbsent(domain, Boolean.TRUE) == null) {
                Thread.ofVirtual().name("cert-renew-" + domain).start(() -> {
                    try {
                        obtain(domain, dns);
                        log.info("cert({}): renewed", domain);
                    } catch (IOException | RuntimeException e) {
                        log.warn("cert({}): renewal failed: {}", domain, e.getMessage());
                    } finally {
                        renewing.remove(domain);
                    }
                });
            }
            return cached.get().pair();
        }
        return obtain(domain, dns);
    }

    private CertPair obtain(String domain, ChallengePublisher dns) throws IOException {
        ReentrantLock lock = locks.computeIfAbsent(domain, d -> new ReentrantLock());
        lock.lock();
        try {
            // Another caller may have finished an order while this one waited.
            Optional<CertStore.Stored> fresh = store.read(domain);
            if (fresh.isPresent() && clock.instant().isBefore(renewAt(fresh.get().leaf()))) return fresh.get().pair();
            return order(domain, dns);
        } catch (AcmeException e) {
            throw new IOException("acme: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the ACME server", e);
        } finally {
            lock.unlock();
        }
    }

    private CertPair order(String domain, ChallengePublisher dns) throws IOException, AcmeException, InterruptedException {
        if (!directory.equals(LETS_ENCRYPT)) log.info("cert({}): acme: using Directory URL {}", domain, directory);
        Session session = new Session(directory, new Provider(ssl));
        Account account = new AccountBuilder().agreeToTermsOfService().useKeyPair(store.accountKey()).create(session);
        Order order = account.newOrder().domain(domain).create();
        for (Authorization auth : order.getAuthorizations()) {
            if (auth.getStatus() == Status.VALID) continue;
            Dns01Challenge ch = auth.findChallenge(Dns01Challenge.class)
                    .orElseThrow(() -> new IOException("dns-01 challenge not offered"));
            String name = "_acme-challenge." + auth.getIdentifier().getDomain();
            dns.setTxt(name, ch.getDigest());
            log.info("cert({}): did SetDNS for {}", domain, name);
            ch.trigger();
            Status s = ch.waitForCompletion(WAIT);
            if (s != Status.VALID) {
                throw new IOException("ACME challenge for " + name + " " + s.name().toLowerCase(java.util.Locale.ROOT)
                        + ch.getError().map(p -> ": " + p).orElse(""));
            }
        }
        KeyPair key = KeyPairUtils.createECKeyPair("secp256r1");
        order.execute(key);
        Status s = order.waitForCompletion(WAIT);
        if (s != Status.VALID) {
            throw new IOException("ACME order " + s.name().toLowerCase(java.util.Locale.ROOT) + order.getError().map(p -> ": " + p).orElse(""));
        }
        StringWriter chain = new StringWriter();
        order.getCertificate().writeCertificate(chain);
        store.write(domain, chain.toString(), key);
        log.info("cert({}): got cert", domain);
        return store.read(domain).orElseThrow(() -> new IOException("the certificate just stored cannot be read back")).pair();
    }

    /** acme4j's generic provider, with the HTTP client trusting what Go would ({@link GoTrust}). */
    private static final class Provider extends GenericAcmeProvider {
        private final SSLContext ssl;

        Provider(SSLContext ssl) {
            this.ssl = ssl;
        }

        @Override
        protected HttpConnector createHttpConnector(NetworkSettings settings) {
            return new HttpConnector(settings) {
                @Override
                public HttpClient.Builder createClientBuilder() {
                    return super.createClientBuilder().sslContext(ssl);
                }
            };
        }
    }
}
