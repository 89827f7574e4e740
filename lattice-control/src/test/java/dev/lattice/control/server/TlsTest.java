package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.store.User;
import dev.lattice.controlclient.ControlChannel;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.RegisterResponseAuth;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** With tls_cert_path/tls_key_path the front port speaks TLS, and ts2021 runs inside it. */
@Timeout(60)
class TlsTest {
    @TempDir
    Path dir;

    @Test
    void ts2021OverTls() throws Exception {
        var openssl = dev.lattice.testlab.Lab.findCommand("openssl");
        Assumptions.assumeTrue(openssl.isPresent(), "openssl not installed: TLS test skipped");
        Path cert = dir.resolve("cert.pem"), key = dir.resolve("key.pem");
        Process p = new ProcessBuilder(openssl.get().toString(), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key.toString(), "-out", cert.toString())
                .redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).isZero();
        int port = TestServer.freePort();
        String yaml = TestServer.yaml(dir, port, false).replace("server_url: http://", "server_url: https://")
                + "tls_cert_path: " + cert + "\ntls_key_path: " + key + "\n";
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (ControlServer server = ControlServer.start(ControlConfig.parse(yaml, dir))) {
            User u = server.store().users().create("tls", null, null);
            server.tailnet().announceFull();
            String authKey = server.store().preAuthKeys().create(u.id(), false, false, List.of(), Instant.now().plusSeconds(60)).fullKey();
            SslContext ssl = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build();
            MachinePrivateKey mk = MachinePrivateKey.generate();
            try (ControlChannel ch = ControlChannel.connect(group, URI.create("https://127.0.0.1:" + port), ssl, mk,
                    server.noiseKey().publicKey(), 142).get(10, TimeUnit.SECONDS)) {
                RegisterRequest req = RegisterRequest.builder().version(142)
                        .nodeKey(dev.lattice.crypto.key.NodePrivateKey.generate().publicKey())
                        .auth(new RegisterResponseAuth(null, null, null, authKey)).build();
                var r = ch.request(HttpMethod.POST, "/machine/register", Tailcfg.json().writeValueAsBytes(req)).get(10, TimeUnit.SECONDS);
                assertThat(Tailcfg.json().readValue(r.body(), RegisterResponse.class).machineAuthorized()).isTrue();
            }
            // and plain HTTP on the TLS port is not served
            try (var s = new java.net.Socket("127.0.0.1", port)) {
                s.setSoTimeout(5000);
                s.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
                byte[] b = s.getInputStream().readNBytes(12);
                assertThat(new String(b)).doesNotStartWith("HTTP/1.1 200");
            } catch (java.io.IOException expected) {
                // connection reset is also fine
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
