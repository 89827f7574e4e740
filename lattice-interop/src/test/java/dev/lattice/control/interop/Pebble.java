package dev.lattice.control.interop;

import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;

/**
 * Let's Encrypt's test CA, Pebble ({@code LATTICE_PEBBLE}, built by {@code .ci/run}), in a lab host, on that host's
 * loopback (its TLS certificate names 127.0.0.1) and validating DNS-01 challenges through the DNS server given.
 * The test certificates it serves come from {@code LATTICE_PEBBLE_CERTS} (the module's {@code test/certs}), else
 * from the Go module cache.
 */
public final class Pebble implements AutoCloseable {
    static final String VERSION = "v2.10.3";
    /** Where ACME clients reach it: Pebble itself, or the finalize shim in front of it. */
    static final int ACME_PORT = 14000;
    /** Pebble's own ACME port when the shim is in front. */
    static final int PEBBLE_BEHIND_SHIM_PORT = 14001;
    static final int MANAGEMENT_PORT = 15000;

    /** The binary and its test certificates directory. */
    public record Install(Path binary, Path certs) {
        /** The minica root that signed the certificate Pebble's HTTPS endpoints serve: what ACME clients must trust. */
        public Path minicaRoot() {
            return certs.resolve("pebble.minica.pem");
        }
    }

    final Host host;
    final Install install;
    public final BackgroundProcess process;
    /** nginx adding the Location header, or null. */
    private BackgroundProcess shim;

    private Pebble(Host host, Install install, BackgroundProcess process) {
        this.host = host;
        this.install = install;
        this.process = process;
    }

    /** Pebble, or a visible skip naming what to set. */
    public static Install install() {
        String bin = System.getenv("LATTICE_PEBBLE");
        Assumptions.assumeTrue(bin != null && !bin.isBlank() && Files.isExecutable(Path.of(bin)),
                "LATTICE_PEBBLE not set (.ci/run builds it with Go): ACME certificate tests against Pebble skipped");
        Optional<Path> certs = certsDir();
        Assumptions.assumeTrue(certs.isPresent(), "Pebble's test certificates not found (set LATTICE_PEBBLE_CERTS to "
                + "the module's test/certs): ACME certificate tests against Pebble skipped");
        return new Install(Path.of(bin), certs.get());
    }

    private static Optional<Path> certsDir() {
        String env = System.getenv("LATTICE_PEBBLE_CERTS");
        if (env != null && !env.isBlank()) return Optional.of(Path.of(env)).filter(p -> Files.isRegularFile(p.resolve("localhost/cert.pem")));
        for (String go : List.of("go", "/usr/local/go/bin/go")) {
            try {
                Process p = new ProcessBuilder(go, "env", "GOMODCACHE").redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                if (p.waitFor() == 0 && !out.isEmpty()) {
                    Path d = Path.of(out, "github.com/letsencrypt/pebble/v2@" + VERSION, "test/certs");
                    if (Files.isRegularFile(d.resolve("localhost/cert.pem"))) return Optional.of(d);
                }
            } catch (IOException e) {
                // no such go; try the next
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    /** Starts Pebble in {@code host} with its validation DNS queries going to {@code dnsServer} (host:port). */
    public static Pebble start(Install install, Host host, Path dir, String dnsServer) throws IOException {
        return start(install, host, dir, dnsServer, false);
    }

    /**
     * @param finalizeShim put nginx in front, adding to Pebble's finalize answers the {@code Location} header Let's
     *     Encrypt's Boulder sends. Pebble finalizes asynchronously and answers "processing" without one (RFC 8555
     *     does not require it), and tailscale's ACME client (its fork of x/crypto/acme) polls the order at that
     *     header, so without it {@code tailscale cert} fails with {@code Post "": unsupported protocol scheme ""}
     *     after the certificate was issued. Everything else passes through unchanged.
     */
    public static Pebble start(Install install, Host host, Path dir, String dnsServer, boolean finalizeShim) throws IOException {
        Optional<Path> nginx = finalizeShim ? Lab.findCommand("nginx") : Optional.empty();
        if (finalizeShim) {
            Assumptions.assumeTrue(nginx.isPresent(), "nginx not installed (.ci/run installs it): needed in front of "
                    + "Pebble for tailscale's ACME client; test skipped");
        }
        Files.createDirectories(dir);
        Path config = dir.resolve("pebble-config.json");
        Files.writeString(config, """
                {"pebble": {
                  "listenAddress": "127.0.0.1:%d",
                  "managementListenAddress": "127.0.0.1:%d",
                  "certificate": "%s",
                  "privateKey": "%s",
                  "httpPort": 5002,
                  "tlsPort": 5001,
                  "ocspResponderURL": "",
                  "externalAccountBindingRequired": false
                }}
                """.formatted(finalizeShim ? PEBBLE_BEHIND_SHIM_PORT : ACME_PORT, MANAGEMENT_PORT, install.certs().resolve("localhost/cert.pem"),
                install.certs().resolve("localhost/key.pem")));
        // No sleeping before validations, and no nonces refused at random: tests want speed and determinism.
        BackgroundProcess p = host.spawn("pebble", Map.of("PEBBLE_VA_NOSLEEP", "1", "PEBBLE_WFE_NONCEREJECT", "0"),
                List.of(install.binary().toString(), "-config", config.toString(), "-dnsserver", dnsServer));
        Pebble pebble = new Pebble(host, install, p);
        if (finalizeShim) pebble.shim = startShim(host, nginx.orElseThrow(), dir, install);
        Instant end = Instant.now().plusSeconds(30);
        while (Instant.now().isBefore(end)) {
            if (!p.isAlive()) throw new AssertionError("pebble exited:\n" + p.tail(40));
            if (pebble.shim != null && !pebble.shim.isAlive()) throw new AssertionError("nginx exited:\n" + pebble.shim.tail(40));
            if (pebble.get(directoryUrl()).ok()) return pebble;
            Lab.sleep(Duration.ofMillis(200));
        }
        throw new AssertionError("pebble did not answer " + directoryUrl() + ":\n" + p.tail(40));
    }

    private static BackgroundProcess startShim(Host host, Path nginx, Path dir, Install install) throws IOException {
        Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, """
                pid %1$s/nginx.pid;
                error_log %1$s/nginx-error.log;
                worker_processes 1;
                events { worker_connections 64; }
                http {
                  access_log off;
                  client_body_temp_path %1$s; proxy_temp_path %1$s; fastcgi_temp_path %1$s; uwsgi_temp_path %1$s; scgi_temp_path %1$s;
                  server {
                    listen 127.0.0.1:%2$d ssl;
                    ssl_certificate %3$s;
                    ssl_certificate_key %4$s;
                    proxy_set_header Host $http_host;
                    location ~ ^/finalize-order/(?<order>[^/]+)$ {
                      proxy_pass https://127.0.0.1:%5$d;
                      add_header Location https://$http_host/my-order/$order;
                    }
                    location / {
                      proxy_pass https://127.0.0.1:%5$d;
                    }
                  }
                }
                """.formatted(dir, ACME_PORT, install.certs().resolve("localhost/cert.pem"),
                install.certs().resolve("localhost/key.pem"), PEBBLE_BEHIND_SHIM_PORT));
        return host.spawn("nginx", Map.of(), List.of(nginx.toString(), "-c", conf.toString(), "-p", dir.toString(), "-g",
                "daemon off;"));
    }

    public static String directoryUrl() {
        return "https://127.0.0.1:" + ACME_PORT + "/dir";
    }

    private ExecResult get(String url) {
        return host.exec(Duration.ofSeconds(10), "curl", "-sf", "--cacert", install.minicaRoot().toString(), url);
    }

    /** The root the certificates Pebble issues chain to (it makes a new one at each start). */
    public X509Certificate root() throws Exception {
        ExecResult r = get("https://127.0.0.1:" + MANAGEMENT_PORT + "/roots/0");
        if (!r.ok()) throw new AssertionError("fetching Pebble's root failed: " + r.describe());
        return certificates(r.stdout().getBytes(StandardCharsets.US_ASCII)).getFirst();
    }

    static List<X509Certificate> certificates(byte[] pem) throws Exception {
        List<X509Certificate> out = new ArrayList<>();
        for (var c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
            out.add((X509Certificate) c);
        }
        return out;
    }

    /**
     * Checks that the PEM chain in {@code chainFile} (leaf first) verifies against {@code root} and names
     * {@code dnsName}; returns the leaf.
     */
    public static X509Certificate verify(Path chainFile, X509Certificate root, String dnsName) throws Exception {
        List<X509Certificate> chain = certificates(Files.readAllBytes(chainFile));
        if (chain.isEmpty()) throw new AssertionError(chainFile + " holds no certificate");
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(chain), params);
        X509Certificate leaf = chain.getFirst();
        boolean named = leaf.getSubjectAlternativeNames() != null && leaf.getSubjectAlternativeNames().stream()
                .anyMatch(san -> (Integer) san.get(0) == 2 && dnsName.equalsIgnoreCase((String) san.get(1)));
        if (!named) throw new AssertionError("certificate does not name " + dnsName + ": " + leaf.getSubjectAlternativeNames());
        return leaf;
    }

    @Override
    public void close() {
        if (shim != null) shim.stop(Duration.ofSeconds(5));
        process.stop(Duration.ofSeconds(5));
    }
}
