package dev.lattice.agent.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ServeConfigTest {
    /** What tailscale 1.102.3 stores and serves for {@code tailscale serve --bg 3000} (Go's json.Marshal). */
    static final String TAILSCALE_BG_3000 =
            "{\"TCP\":{\"443\":{\"HTTPS\":true}},\"Web\":{\"foo.test.ts.net:443\":{\"Handlers\":{\"/\":{\"Proxy\":\"http://127.0.0.1:3000\"}}}}}";
    /** Several ports, a TCP forward with TLS termination and text: Go sorts integer keys as strings ("443" < "80"). */
    static final String TAILSCALE_MIXED = "{\"TCP\":{\"443\":{\"HTTPS\":true},\"5432\":{\"TCPForward\":\"127.0.0.1:5432\","
            + "\"TerminateTLS\":\"foo.test.ts.net\"},\"80\":{\"HTTP\":true}},\"Web\":{\"foo.test.ts.net:443\":{\"Handlers\":"
            + "{\"/\":{\"Proxy\":\"http://127.0.0.1:3000\"},\"/hi\":{\"Text\":\"hello\"}}},\"foo.test.ts.net:80\":{\"Handlers\":"
            + "{\"/\":{\"Path\":\"/srv\"}}}}}";

    @Test
    void tailscalesJsonRoundTripsByteForByte() {
        for (String json : new String[] {TAILSCALE_BG_3000, TAILSCALE_MIXED}) {
            ServeConfig c = ServeConfig.parse(json.getBytes(StandardCharsets.UTF_8));
            assertThat(new String(c.toJson(), StandardCharsets.UTF_8)).isEqualTo(json);
        }
        ServeConfig c = ServeConfig.parse(TAILSCALE_MIXED.getBytes(StandardCharsets.UTF_8));
        assertThat(c.tcpHandler(443)).isEqualTo(ServeConfig.TcpPortHandler.ofHttps());
        assertThat(c.tcpHandler(5432)).isEqualTo(ServeConfig.TcpPortHandler.forward("127.0.0.1:5432", "foo.test.ts.net"));
        assertThat(c.web().get("foo.test.ts.net:443").handlers().get("/hi")).isEqualTo(ServeConfig.HttpHandler.ofText("hello"));
    }

    @Test
    void etagIsTheSha256OfTheEncodingAndNullForNothing() throws Exception {
        ServeConfig c = ServeConfig.parse(TAILSCALE_BG_3000.getBytes(StandardCharsets.UTF_8));
        String want = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(TAILSCALE_BG_3000.getBytes(StandardCharsets.UTF_8)));
        assertThat(c.etag()).isEqualTo(want);
        // tailscale marshals an unset config as "null"
        assertThat(ServeConfig.EMPTY.etag()).isEqualTo(java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest("null".getBytes(StandardCharsets.US_ASCII))));
        assertThat(ServeConfig.parse("null".getBytes(StandardCharsets.UTF_8))).isEqualTo(ServeConfig.EMPTY);
    }

    @Test
    void unknownFieldsAreRefusedNotDropped() {
        assertThatThrownBy(() -> ServeConfig.parse("{\"Services\":{\"svc:foo\":{\"Tun\":true}}}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Services");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "funnel on an unserved port|{\"TCP\":{\"443\":{\"HTTPS\":true}},\"AllowFunnel\":{\"a:8443\":true}}|TCP port 8443 serves nothing",
        "funnel key|{\"TCP\":{\"443\":{\"HTTPS\":true}},\"AllowFunnel\":{\"a\":true}}|AllowFunnel key \"a\" is not host:port",
        "two kinds|{\"TCP\":{\"443\":{\"HTTPS\":true,\"HTTP\":true}}}|want exactly one of HTTPS, HTTP or TCPForward",
        "no kind|{\"TCP\":{\"443\":{}}}|want exactly one of HTTPS, HTTP or TCPForward",
        "port 0|{\"TCP\":{\"0\":{\"HTTP\":true}}}|invalid TCP port 0",
        "bad forward|{\"TCP\":{\"22\":{\"TCPForward\":\"localhost\"}}}|is not host:port",
        "tls without forward|{\"TCP\":{\"443\":{\"HTTPS\":true,\"TerminateTLS\":\"a\"}}}|TerminateTLS needs TCPForward",
        "web without port|{\"Web\":{\"a:443\":{\"Handlers\":{\"/\":{\"Text\":\"x\"}}}}}|does not serve HTTP or HTTPS",
        "web on tcp port|{\"TCP\":{\"443\":{\"TCPForward\":\"127.0.0.1:1\"}},\"Web\":{\"a:443\":{\"Handlers\":{\"/\":{\"Text\":\"x\"}}}}}|does not serve HTTP",
        "mount|{\"TCP\":{\"80\":{\"HTTP\":true}},\"Web\":{\"a:80\":{\"Handlers\":{\"x\":{\"Text\":\"x\"}}}}}|must start with /",
        "two handlers|{\"TCP\":{\"80\":{\"HTTP\":true}},\"Web\":{\"a:80\":{\"Handlers\":{\"/\":{\"Text\":\"x\",\"Proxy\":\"http://127.0.0.1:1\"}}}}}|want exactly one of Path, Proxy or Text",
        "bad proxy|{\"TCP\":{\"80\":{\"HTTP\":true}},\"Web\":{\"a:80\":{\"Handlers\":{\"/\":{\"Proxy\":\"ftp://x:1\"}}}}}|invalid proxy target",
        "relative path|{\"TCP\":{\"80\":{\"HTTP\":true}},\"Web\":{\"a:80\":{\"Handlers\":{\"/\":{\"Path\":\"srv\"}}}}}|not an absolute path",
    })
    void badConfigsGetOneClearLine(String name, String json, String message) {
        ServeConfig c = ServeConfig.parse(json.getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> ServeValidation.validate(c)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
    }

    @Test
    void goodConfigsValidate() {
        ServeValidation.validate(ServeConfig.parse(TAILSCALE_BG_3000.getBytes(StandardCharsets.UTF_8)));
        ServeValidation.validate(ServeConfig.EMPTY);
    }

    @Test
    void storeKeepsTheConfigAcrossOpensAndRemovesItWhenEmpty(@TempDir Path dir) throws Exception {
        ServeStore s = ServeStore.open(dir);
        assertThat(s.get()).isEqualTo(ServeConfig.EMPTY);
        ServeConfig c = ServeConfig.parse(TAILSCALE_BG_3000.getBytes(StandardCharsets.UTF_8));
        s.set(c);
        assertThat(Files.getPosixFilePermissions(dir.resolve(ServeStore.FILE))).hasSize(2); // rw-------
        assertThat(ServeStore.open(dir).get()).isEqualTo(c);
        s.set(ServeConfig.EMPTY);
        assertThat(dir.resolve(ServeStore.FILE)).doesNotExist();
        assertThat(ServeStore.open(dir).get()).isEqualTo(ServeConfig.EMPTY);
    }

    @Test
    void aCorruptStoredConfigIsAnErrorNotAnEmptyConfig(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve(ServeStore.FILE), "{\"TCP\":");
        assertThatThrownBy(() -> ServeStore.open(dir)).hasMessageContaining(ServeStore.FILE);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "8080|http://127.0.0.1:8080",
        "localhost:8080|http://localhost:8080",
        "http://127.0.0.1:8080/api|http://127.0.0.1:8080/api",
        "127.0.0.1:3000|http://127.0.0.1:3000",
    })
    void webTargetsExpandAsTailscalesCli(String target, String proxy) {
        assertThat(ServeTarget.web(target)).isEqualTo(ServeConfig.HttpHandler.ofProxy(proxy));
    }

    @Test
    void textAndDirectoryTargets() {
        assertThat(ServeTarget.web("text:hello world")).isEqualTo(ServeConfig.HttpHandler.ofText("hello world"));
        assertThat(ServeTarget.web("/srv/www").path()).isEqualTo("/srv/www");
        assertThat(ServeTarget.tcp("5432")).isEqualTo("127.0.0.1:5432");
        assertThat(ServeTarget.tcp("tcp://localhost:22")).isEqualTo("localhost:22");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "99999|invalid target \"99999\"",
        "example.com:80|only localhost or 127.0.0.1",
        "http://10.0.0.1:80|only localhost or 127.0.0.1",
        "ftp://127.0.0.1:21|invalid target",
        "text:|the text is empty",
        "foo bar|invalid target",
    })
    void badWebTargetsGetOneLine(String target, String message) {
        assertThatThrownBy(() -> ServeTarget.web(target)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message).satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void badTcpTargets() {
        assertThatThrownBy(() -> ServeTarget.tcp("example.com:22")).hasMessageContaining("only localhost");
        assertThatThrownBy(() -> ServeTarget.tcp("http://127.0.0.1:22")).hasMessageContaining("invalid target");
    }
}
