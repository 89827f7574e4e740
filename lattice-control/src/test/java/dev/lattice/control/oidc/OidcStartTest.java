package dev.lattice.control.oidc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.config.ConfigException;
import dev.lattice.control.server.ControlServer;
import dev.lattice.control.server.TestServer;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The server's start with an identity provider that is down, as Headscale decides it, and the pages meanwhile. */
@Timeout(60)
class OidcStartTest {
    @TempDir
    Path dir;

    String yaml(FakeIdp idp, boolean onlyStartIfAvailable) {
        return "oidc:\n  issuer: " + idp.issuer + "\n  client_id: lattice\n  client_secret: s3cr3t-value\n"
                + "  only_start_if_oidc_is_available: " + onlyStartIfAvailable + "\n";
    }

    @Test
    void anUnavailableProviderStopsTheStartWhenAsked() throws Exception {
        try (FakeIdp idp = new FakeIdp()) {
            idp.up = false;
            assertThatThrownBy(() -> ControlServer.start(TestServer.config(dir, yaml(idp, true))))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("oidc: the identity provider at " + idp.issuer + " is not available")
                    .hasMessageEndingWith("not starting because oidc.only_start_if_oidc_is_available is true")
                    .hasMessageNotContaining("s3cr3t-value");
        }
    }

    @Test
    void otherwiseTheServerStartsAndTheLoginPageSaysTheProviderIsUnreachable() throws Exception {
        try (FakeIdp idp = new FakeIdp()) {
            idp.up = false;
            try (ControlServer server = ControlServer.start(TestServer.config(dir, yaml(idp, false)))) {
                URI url = server.config().serverUrl();
                server.registrations().debugPending("waiting1", "laptop", List.of());
                Browser b = new Browser();
                Browser.Page p = b.get(url.resolve("/register/waiting1"));
                assertThat(p.status()).isEqualTo(503);
                assertThat(p.body()).contains("The sign-in service is not reachable").doesNotContain("Exception");
                // An unknown registration is answered without asking the provider.
                assertThat(b.get(url.resolve("/register/unknown1")).status()).isEqualTo(410);
                assertThat(b.get(url.resolve("/register/bad%20id")).status()).isEqualTo(400);
                // The rest of the server serves on.
                assertThat(b.get(url.resolve("/health")).status()).isEqualTo(200);
            }
        }
    }

    @Test
    void aCallbackNobodyStartedIsRefusedWithAPage() throws Exception {
        try (FakeIdp idp = new FakeIdp(); ControlServer server = ControlServer.start(TestServer.config(dir, yaml(idp, true)))) {
            URI url = server.config().serverUrl();
            Browser b = new Browser();
            Browser.Page noParams = b.get(url.resolve("/oidc/callback"));
            assertThat(noParams.status()).isEqualTo(400);
            assertThat(noParams.body()).contains("lacks its code or state");
            Browser.Page forged = b.get(url.resolve("/oidc/callback?code=abc&state=forged-state-value"));
            assertThat(forged.status()).isEqualTo(403);
            assertThat(forged.body()).contains("not started in this browser").contains("Nothing was registered");
            Browser.Page denied = b.get(url.resolve("/oidc/callback?error=access_denied&state=whatever"));
            assertThat(denied.status()).isEqualTo(403);
            assertThat(denied.body()).contains("reported access_denied");
            Browser.Page injected = b.get(url.resolve("/oidc/callback?error=%3Cscript%3E&state=whatever"));
            assertThat(injected.body()).doesNotContain("<script>");
            assertThat(server.tailnet().nodes()).isEmpty();
            assertThat(server.tailnet().users()).isEmpty();
        }
    }
}
