package dev.lattice.agent.serve;

import dev.lattice.agent.cert.CertPair;
import java.io.ByteArrayInputStream;
import java.io.StringReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's certificate for TLS handshakes on served ports: asked of the certificate manager at each handshake
 * (from its cache; renewed in the background past two thirds of its life), parsed again only when it changed.
 */
final class NodeKeyManager extends X509ExtendedKeyManager {
    private static final Logger log = LoggerFactory.getLogger(NodeKeyManager.class);
    /** Every handshake would log the same problem: once a minute is enough. */
    private static final dev.lattice.guard.LogLimiter LOG = dev.lattice.guard.LogLimiter.perMinute(log);
    private static final String ALIAS = "node";

    private record Loaded(String certPem, X509Certificate[] chain, PrivateKey key) {}

    private final ServeListeners.Env env;
    private volatile Loaded current;

    NodeKeyManager(ServeListeners.Env env) {
        this.env = env;
    }

    /** The alias when the node's certificate has a key of {@code keyType} (JSSE asks once per type it could use). */
    private String load(String keyType) {
        String a = load();
        Loaded l = current;
        return a != null && l != null && l.chain()[0].getPublicKey().getAlgorithm().equals(keyType) ? a : null;
    }

    private String load() {
        String domain = env.certDomain();
        if (domain == null) {
            LOG.warn("no-domain", "serve: TLS handshake refused: no certificate domain (the control server offers no certificates)");
            return null;
        }
        try {
            CertPair p = env.cert(domain);
            Loaded l = current;
            if (l != null && l.certPem().equals(p.certPem())) return ALIAS;
            X509Certificate[] chain = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(p.certPem().getBytes(StandardCharsets.US_ASCII)))
                    .stream().map(c -> (X509Certificate) c).toArray(X509Certificate[]::new);
            PrivateKey parsed = org.shredzone.acme4j.util.KeyPairUtils.readKeyPair(new StringReader(p.keyPem())).getPrivate();
            // as the JDK's own key, so the JDK's signature code handles the handshake
            PrivateKey key = java.security.KeyFactory.getInstance(chain[0].getPublicKey().getAlgorithm())
                    .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(parsed.getEncoded()));
            current = new Loaded(p.certPem(), chain, key);
            return ALIAS;
        } catch (Exception e) {
            LOG.warn(domain, "serve: TLS handshake refused: certificate for {}: {}", domain, e.getMessage());
            return null;
        }
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return load(keyType);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return load(keyType);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Loaded l = current;
        return ALIAS.equals(alias) && l != null ? l.chain().clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Loaded l = current;
        return ALIAS.equals(alias) && l != null ? l.key() : null;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return new String[] {ALIAS};
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return null;
    }
}
