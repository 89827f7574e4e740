package dev.lattice.agent.cert;

import dev.lattice.agent.state.AtomicFile;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.shredzone.acme4j.util.KeyPairUtils;

/**
 * {@code <statedir>/certs}, laid out as tailscaled's cert store: {@code acme-account.key.pem}, and per domain
 * {@code <domain>.crt} (the chain, 0644) and {@code <domain>.key} (0600). Each file is written whole to a temporary
 * file with its final mode, synced, and renamed into place, so a kill at any moment leaves the old file or the
 * new one; a key and certificate that do not belong together (killed between the two) read as no certificate.
 */
public final class CertStore {
    private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> PUBLIC = PosixFilePermissions.fromString("rw-r--r--");
    static final String ACCOUNT_KEY = "acme-account.key.pem";

    /** A stored certificate: its chain (leaf first) and key, as read back. */
    public record Stored(CertPair pair, List<X509Certificate> chain) {
        public X509Certificate leaf() {
            return chain.getFirst();
        }
    }

    static {
        // acme4j's key and CSR code names the "BC" provider. Added last, so the JDK's providers keep serving
        // everything else as before.
        if (java.security.Security.getProvider("BC") == null) {
            java.security.Security.addProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider());
        }
    }

    private final Path dir;

    public CertStore(Path stateDir) {
        this.dir = stateDir.resolve("certs");
    }

    public Path dir() {
        return dir;
    }

    /** The ACME account key, created (P-256) on first use. */
    public synchronized KeyPair accountKey() throws IOException {
        Path f = dir.resolve(ACCOUNT_KEY);
        try {
            return KeyPairUtils.readKeyPair(new StringReader(Files.readString(f)));
        } catch (NoSuchFileException e) {
            KeyPair k = KeyPairUtils.createECKeyPair("secp256r1");
            write(f, pem(k), PRIVATE);
            return k;
        }
    }

    /** The stored pair for {@code domain}, if both files are there, parse, and belong together. */
    public Optional<Stored> read(String domain) {
        try {
            String cert = Files.readString(dir.resolve(domain + ".crt"));
            String key = Files.readString(dir.resolve(domain + ".key"));
            List<X509Certificate> chain = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509")
                    .generateCertificates(new java.io.ByteArrayInputStream(cert.getBytes(StandardCharsets.US_ASCII)))) {
                chain.add((X509Certificate) c);
            }
            if (chain.isEmpty()) return Optional.empty();
            KeyPair kp = KeyPairUtils.readKeyPair(new StringReader(key));
            if (!java.util.Arrays.equals(kp.getPublic().getEncoded(), chain.getFirst().getPublicKey().getEncoded())) {
                return Optional.empty();
            }
            return Optional.of(new Stored(new CertPair(cert, key), List.copyOf(chain)));
        } catch (IOException | CertificateException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Stores a new pair: the key first, so a certificate is never next to a key it does not match for long. */
    public void write(String domain, String certPem, KeyPair key) throws IOException {
        write(dir.resolve(domain + ".key"), pem(key), PRIVATE);
        write(dir.resolve(domain + ".crt"), certPem, PUBLIC);
    }

    static String pem(KeyPair k) throws IOException {
        StringWriter w = new StringWriter();
        KeyPairUtils.writeKeyPair(k, w);
        return w.toString();
    }

    private void write(Path target, String content, Set<PosixFilePermission> mode) throws IOException {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        AtomicFile.write(target, content.getBytes(StandardCharsets.US_ASCII), mode);
    }
}
