package dev.lattice.agent.cert;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The CAs a Go program on Linux trusts ({@code crypto/x509/root_unix.go}): the PEM bundle {@code SSL_CERT_FILE},
 * else the first of the distributions' bundle files that exists, plus every file of {@code SSL_CERT_DIR} (or the
 * usual directories), read either way; so latticed trusts an ACME server exactly as tailscaled does. Without any of them, the JDK's
 * own trust store.
 */
public final class GoTrust {
    /** Go's {@code certFiles} for Linux, in its order. */
    static final List<String> CERT_FILES = List.of("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/ca-bundle.pem", "/etc/pki/tls/cacert.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            "/etc/ssl/cert.pem");
    static final List<String> CERT_DIRS = List.of("/etc/ssl/certs", "/etc/pki/tls/certs");

    private GoTrust() {}

    /** From the process environment. */
    public static SSLContext sslContext() throws GeneralSecurityException, IOException {
        return sslContext(System.getenv());
    }

    static SSLContext sslContext(Map<String, String> env) throws GeneralSecurityException, IOException {
        KeyStore ks = trustStore(env);
        SSLContext ctx = SSLContext.getInstance("TLS");
        if (ks == null) {
            ctx.init(null, null, null);
            return ctx;
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** The trusted certificates as a key store, or null when none of Go's sources exist (use the JDK's). */
    static KeyStore trustStore(Map<String, String> env) throws GeneralSecurityException, IOException {
        return trustStore(env, CERT_FILES, CERT_DIRS);
    }

    /** With other default files and directories than Go's (tests). */
    static KeyStore trustStore(Map<String, String> env, List<String> certFiles, List<String> certDirs)
            throws GeneralSecurityException, IOException {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        int[] n = {0};
        String file = env.get("SSL_CERT_FILE");
        if (file != null && !file.isEmpty()) {
            // As Go: a named file that cannot be read counts as none, and the directories are still read.
            addPem(ks, Path.of(file), n);
        } else {
            for (String f : certFiles) {
                if (Files.isRegularFile(Path.of(f))) {
                    addPem(ks, Path.of(f), n);
                    break;
                }
            }
        }
        String dirs = env.get("SSL_CERT_DIR");
        List<String> dirList = dirs != null && !dirs.isEmpty() ? List.of(dirs.split(":")) : certDirs;
        // As Go, the directories are read whether or not a file was.
        for (String d : dirList) {
            if (!Files.isDirectory(Path.of(d))) continue;
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of(d))) {
                for (Path p : ds) if (Files.isRegularFile(p)) addPem(ks, p, n);
            } catch (IOException e) {
                // an unreadable directory is skipped, as Go skips it
            }
        }
        return n[0] == 0 ? null : ks;
    }

    private static void addPem(KeyStore ks, Path file, int[] n) throws GeneralSecurityException {
        try (InputStream in = Files.newInputStream(file)) {
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("ca-" + n[0]++, c);
            }
        } catch (IOException | CertificateException e) {
            // unreadable or not PEM certificates: skipped, as Go's AppendCertsFromPEM skips what it cannot parse
        }
    }
}
