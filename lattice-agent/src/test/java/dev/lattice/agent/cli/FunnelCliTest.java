package dev.lattice.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.localapi.FakeBackend;
import dev.lattice.agent.serve.ServeConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lattice funnel} against a fake backend: tailscale's stored shape, its refusals, status, off and reset. */
class FunnelCliTest {
    static final Set<String> FUNNEL_CAPS = Set.of("https", "funnel", "https://tailscale.com/cap/funnel-ports?ports=443,8443,10000");
    @TempDir
    Path dir;
    FakeDaemon daemon;
    FakeBackend backend;

    @BeforeEach
    void start() throws Exception {
        daemon = new FakeDaemon(dir);
        backend = daemon.backend;
        backend.caps = FUNNEL_CAPS;
    }

    @AfterEach
    void stop() {
        daemon.close();
    }

    LatticeCli.Result run(String... args) {
        return daemon.run(args);
    }

    private String stored() {
        return new String(backend.serve.toJson(), StandardCharsets.UTF_8);
    }

    @Test
    void bgPortIsServeWithAllowFunnelAsTailscaleStoresIt() {
        var r = run("funnel", "--bg", "3000");
        assertThat(r.code()).as(r.err()).isZero();
        // `tailscale funnel --bg 3000` on a node named me.tail.example stores exactly this
        assertThat(stored()).isEqualTo("{\"TCP\":{\"443\":{\"HTTPS\":true}},\"Web\":{\"me.tail.example:443\":{\"Handlers\":"
                + "{\"/\":{\"Proxy\":\"http://127.0.0.1:3000\"}}}},\"AllowFunnel\":{\"me.tail.example:443\":true}}");
        assertThat(r.out()).startsWith("Available on the internet:\n\nhttps://me.tail.example/\n|-- proxy http://127.0.0.1:3000")
                .contains("Funnel started and running in the background.")
                .contains("To disable the proxy, run: lattice funnel --https=443 off");
        // tailscale's runServeStatus: the "# Funnel on:" section, then the tree
        assertThat(run("funnel", "status").out()).isEqualTo("\n# Funnel on:\n#     - https://me.tail.example\n\n"
                + "https://me.tail.example (Funnel on)\n|-- / proxy http://127.0.0.1:3000\n\n");
        assertThat(run("serve", "status").out()).as("the same config").contains("(Funnel on)");
    }

    @Test
    void serveOnAFunneledPortTakesFunnelAwayAndOffClearsIt() {
        assertThat(run("funnel", "--bg", "--https=8443", "text:hi").code()).isZero();
        assertThat(backend.serve.allowFunnel()).containsEntry("me.tail.example:8443", true);
        var r = run("serve", "--bg", "--https=8443", "text:hi");
        assertThat(r.code()).isZero();
        assertThat(r.err()).contains("Removing Funnel for me.tail.example:me.tail.example:8443");
        assertThat(backend.serve.allowFunnel()).isEmpty();
        assertThat(run("funnel", "--bg", "--https=8443", "text:hi").code()).isZero();
        assertThat(run("funnel", "--https=8443", "off").code()).isZero();
        assertThat(backend.serve).isEqualTo(ServeConfig.EMPTY);
        assertThat(run("funnel", "--bg", "--tcp=10000", "5432").code()).isZero();
        assertThat(run("funnel", "status").out()).contains("(Funnel on)");
        assertThat(run("funnel", "reset").code()).isZero();
        assertThat(backend.serve).isEqualTo(ServeConfig.EMPTY);
    }

    @Test
    void refusedWithoutTheAttributeOrOnAPortControlDoesNotAllow() {
        backend.caps = Set.of("https");
        var r = run("funnel", "--bg", "3000");
        assertThat(r.code()).isNotZero();
        assertThat(r.err().strip()).isEqualTo("Funnel not available; \"funnel\" node attribute not set. See https://tailscale.com/s/no-funnel.");
        backend.caps = Set.of("funnel");
        assertThat(run("funnel", "--bg", "3000").err()).contains("HTTPS must be enabled");
        backend.caps = FUNNEL_CAPS;
        var port = run("funnel", "--bg", "--https=9443", "3000");
        assertThat(port.err().strip()).isEqualTo("port 9443 is not allowed for funnel; allowed ports are: 443,8443,10000");
        assertThat(run("funnel", "--bg", "--http=80", "3000").err()).contains("not --http");
        assertThat(backend.serve).as("nothing changed").isEqualTo(ServeConfig.EMPTY);
    }

    @Test
    void helpWorks() {
        var r = run("funnel", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("Usage: lattice funnel").contains("--bg").contains("\"funnel\" node attribute");
    }
}
