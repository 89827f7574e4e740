package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.CertLab;
import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.control.interop.Pebble;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code lattice cert} against a real ACME CA: latticed asks Pebble for a certificate for its MagicDNS name,
 * publishes the DNS-01 challenge through lattice-control's {@code /machine/set-dns}, Pebble reads it from
 * lattice-control's authoritative DNS, and the certificate written verifies against Pebble's root for that name;
 * asked again, latticed serves it from its cache. Another node publishing a challenge for that name is refused by
 * the server. Skipped (visibly) without Pebble.
 */
@Tag("netns")
@Timeout(300)
class AgentCertTest {

    @Test
    void latticeCertGetsACertificateFromPebbleThroughLatticeControlsDns() throws Exception {
        Pebble.Install pebbleInstall = Pebble.install();
        TailnetNode.Binaries bins = TailnetNode.lattice();
        try (CertLab c = CertLab.start(pebbleInstall, 78, false)) {
            Lab lab = c.lab;
            Host h1 = c.h1, h2 = c.h2;
            ControlServerProcess server = c.server;
            Pebble pebble = c.pebble;
            server.admin("users", "create", "alice");
            String key = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--expiration", "1h");
            String url = ControlServerProcess.serverUrl(server.ip);
            // the same knobs as tailscaled: the ACME directory, and the CA bundle as Go programs read it
            Map<String, String> env = Map.of("TS_DEBUG_ACME_DIRECTORY_URL", Pebble.directoryUrl(),
                    "SSL_CERT_FILE", pebbleInstall.minicaRoot().toString());
            try (TailnetNode a = TailnetNode.start(bins, h1, lab.workDir().resolve("h1"), env);
                 TailnetNode b = TailnetNode.start(bins, h2, lab.workDir().resolve("h2"), env)) {
                assertThat(a.up(url, key, "h1").ok()).as(() -> "h1 up\n" + a.daemon.tail(60)).isTrue();
                assertThat(b.up(url, key, "h2").ok()).as(() -> "h2 up\n" + b.daemon.tail(60)).isTrue();
                assertThat(a.status().path("CertDomains").toString()).isEqualTo("[\"h1.tailnet.test\"]");

                Path crt = lab.workDir().resolve("h1/out.crt");
                Path keyFile = lab.workDir().resolve("h1/out.key");
                long start = System.nanoTime();
                ExecResult cert = a.cli(Duration.ofSeconds(120), "cert", "--cert-file", crt.toString(), "--key-file",
                        keyFile.toString(), "h1.tailnet.test");
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertThat(cert.ok()).as(() -> "lattice cert failed: " + cert.describe() + "\nlatticed:\n"
                        + a.daemon.tail(60) + "\npebble:\n" + pebble.process.tail(40) + "\nserver:\n"
                        + server.process.tail(40)).isTrue();
                assertThat(cert.stdout()).contains("Wrote public cert to " + crt).contains("Wrote private key to " + keyFile);
                X509Certificate root = pebble.root();
                X509Certificate leaf = Pebble.verify(crt, root, "h1.tailnet.test");
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile))).isEqualTo("rw-------");
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(
                        lab.workDir().resolve("h1/certs/h1.tailnet.test.key")))).isEqualTo("rw-------");
                System.out.println("[e2e] lattice cert h1.tailnet.test from Pebble in " + millis + " ms, issued by "
                        + leaf.getIssuerX500Principal() + ", verified against " + root.getSubjectX500Principal());

                // again: from the cache, the same certificate, no new order
                long orders = pebble.process.tail(400).lines().filter(l -> l.contains("POST /order-plz")).count();
                ExecResult again = a.cli(Duration.ofSeconds(60), "cert", "--cert-file", crt.toString(), "--key-file",
                        keyFile.toString(), "h1.tailnet.test");
                assertThat(again.ok()).as(again::describe).isTrue();
                assertThat(again.stdout()).contains("Public cert unchanged").contains("Private key unchanged");
                assertThat(pebble.process.tail(400).lines().filter(l -> l.contains("POST /order-plz")).count()).isEqualTo(orders);

                // a name that is not this node's: refused by latticed itself
                ExecResult other = a.cli(Duration.ofSeconds(30), "cert", "h2.tailnet.test");
                assertThat(other.ok()).isFalse();
                assertThat(other.stderr()).contains("invalid domain \"h2.tailnet.test\"");

                // h2 publishing a challenge for h1's name through its latticed: the control server refuses it
                ExecResult steal = h2.exec(Duration.ofSeconds(20), "curl", "-s", "--unix-socket", b.socket.toString(),
                        "-X", "POST", "http://local/localapi/v0/set-dns?name=_acme-challenge.h1.tailnet.test&value=abc");
                assertThat(steal.stdout()).as(steal::describe).contains("set-dns response: 403")
                        .contains("may only set _acme-challenge.h2.tailnet.test");
                System.out.println("[e2e] h2's set-dns for h1's name refused: " + steal.stdout().strip());
            }
        }
    }
}
