package dev.lattice.control.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Official {@code tailscale cert} through lattice-control: the client asks Pebble (Let's Encrypt's test CA) for a
 * certificate for its MagicDNS name, publishes the DNS-01 challenge with {@code /machine/set-dns}, Pebble reads it
 * from lattice-control's authoritative DNS, and the certificate written verifies against Pebble's root for that
 * name. Another node publishing a challenge for that name is refused by the server. Skipped (visibly) without the
 * official binaries or Pebble.
 */
@Tag("netns")
@Timeout(300)
class TailscaleCertInteropTest {

    @Test
    void officialTailscaleCertGetsACertificateFromPebbleThroughLatticeControlsDns() throws Exception {
        OfficialTailscale.Binaries bins = OfficialTailscale.binaries();
        Pebble.Install pebbleInstall = Pebble.install();
        try (CertLab c = CertLab.start(pebbleInstall, 77, true)) {
            Lab lab = c.lab;
            Host h1 = c.h1, h2 = c.h2;
            ControlServerProcess server = c.server;
            Pebble pebble = c.pebble;
            server.admin("users", "create", "alice");
            String key = server.admin("preauthkeys", "create", "--user", "alice", "--reusable", "--expiration", "1h");
            // tailscaled trusts the ACME server through SSL_CERT_FILE, as Go programs do
            Map<String, String> env = Map.of("TS_DEBUG_ACME_DIRECTORY_URL", Pebble.directoryUrl(),
                    "SSL_CERT_FILE", pebbleInstall.minicaRoot().toString());
            OfficialTailscale a = OfficialTailscale.start(bins, h1, lab.workDir().resolve("h1"), env);
            OfficialTailscale b = null;
            try {
                up(a, server, key, "h1");
                b = OfficialTailscale.start(bins, h2, lab.workDir().resolve("h2"), env);
                up(b, server, key, "h2");
                a.await("CertDomains [h1.tailnet.test]", Duration.ofSeconds(30),
                        t -> t.status().path("CertDomains").toString().equals("[\"h1.tailnet.test\"]"));

                Path crt = lab.workDir().resolve("h1/out.crt");
                Path keyFile = lab.workDir().resolve("h1/out.key");
                long start = System.nanoTime();
                ExecResult cert = a.cli(Duration.ofSeconds(120), "cert", "--cert-file", crt.toString(), "--key-file",
                        keyFile.toString(), "h1.tailnet.test");
                long millis = (System.nanoTime() - start) / 1_000_000;
                OfficialTailscale ta = a;
                assertThat(cert.ok()).as(() -> "tailscale cert failed: " + cert.describe() + "\ntailscaled:\n"
                        + ta.daemon.tail(60) + "\npebble:\n" + pebble.process.tail(40) + "\nserver:\n"
                        + server.process.tail(40)).isTrue();
                X509Certificate root = pebble.root();
                X509Certificate leaf = Pebble.verify(crt, root, "h1.tailnet.test");
                assertThat(Files.size(keyFile)).isPositive();
                System.out.println("[interop] tailscale cert h1.tailnet.test from Pebble in " + millis + " ms: names "
                        + leaf.getSubjectAlternativeNames() + ", issued by " + leaf.getIssuerX500Principal()
                        + ", verified against " + root.getSubjectX500Principal());

                // h2 publishing a challenge for h1's name, through its own tailscaled: the server refuses it
                ExecResult steal = h2.exec(Duration.ofSeconds(20), "curl", "-s", "--unix-socket",
                        b.socket.toString(), "-X", "POST",
                        "http://local-tailscaled.sock/localapi/v0/set-dns?name=_acme-challenge.h1.tailnet.test&value=abc");
                assertThat(steal.stdout()).as(steal::describe).contains("403")
                        .contains("may only set _acme-challenge.h2.tailnet.test");
                System.out.println("[interop] h2's set-dns for h1's name refused: " + steal.stdout().strip());
            } finally {
                if (b != null) b.close();
                a.close();
            }
        }
    }

    private static void up(OfficialTailscale t, ControlServerProcess server, String key, String name) {
        ExecResult up = t.up(ControlServerProcess.serverUrl(server.ip), key, name);
        assertThat(up.ok()).as(() -> name + ": tailscale up failed: " + up.describe() + "\ntailscaled:\n" + t.daemon.tail(60)
                + "\nserver:\n" + server.process.tail(60)).isTrue();
    }
}
