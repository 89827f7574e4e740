package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.User;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.RegisterResponse;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * ts2021 over a WebSocket as tailscale's js/wasm client speaks it (control/controlhttp/client_js.go): {@code GET
 * /ts2021?X-Tailscale-Handshake=<base64>} with the {@code tailscale-control-protocol} subprotocol, the Noise response
 * and then HTTP/2 in binary messages, no early payload. Such a client registers, streams its map and sees peers that
 * came the usual way, through the same guarded pipeline.
 */
@Timeout(60)
class Ts2021WebSocketTest {
    @TempDir
    Path dir;
    ControlServer server;
    EventLoopGroup group;
    URI url;
    String key;

    @BeforeEach
    void start() throws Exception {
        server = ControlServer.start(TestServer.config(dir, ""));
        url = server.config().serverUrl();
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        User alice = server.store().users().create("alice", "", "");
        server.tailnet().announceFull();
        key = server.store().preAuthKeys().create(alice.id(), true, false, List.of(), Instant.now().plusSeconds(600)).fullKey();
    }

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        server.close();
    }

    @Test
    void aWebSocketClientRegistersStreamsItsMapAndMeetsAnHttpClient() throws Exception {
        try (TestMachine ws = new TestMachine(group, url, "browser", CapabilityVersion.CURRENT, true);
                TestMachine plain = new TestMachine(group, url, "laptop")) {
            assertThat(ws.channel.earlyPayload().get(5, TimeUnit.SECONDS)).as("no early payload over WebSocket").isNull();
            assertThat(plain.channel.earlyPayload().get(5, TimeUnit.SECONDS)).isNotNull();
            RegisterResponse r = ws.register(key);
            assertThat(r.machineAuthorized()).isTrue();
            ws.openStream();
            MapResponse full = ws.await(Duration.ofSeconds(5), x -> x.node() != null);
            assertThat(full.node().name()).isEqualTo("browser.tailnet.test.");

            plain.register(key);
            plain.openStream();
            ws.awaitView(Duration.ofSeconds(5), v -> v.hasPeer("laptop"));
            plain.awaitView(Duration.ofSeconds(5), v -> v.hasPeer("browser"));
            assertThat(server.tailnet().isOnline(server.tailnet().byNodeKey(ws.nodeKey.publicKey()).orElseThrow().id())).isTrue();
            // counted as the same kind of connection (the guard admitted it) and the same upgrade route
            assertThat(server.guard().openConnections()).isGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void withoutTheSubprotocolOrTheHandshakeItIsRefused() throws Exception {
        URI ws = URI.create("ws://127.0.0.1:" + url.getPort() + "/ts2021?X-Tailscale-Handshake=AAAA");
        try (HttpClient http = HttpClient.newHttpClient()) {
            CompletableFuture<WebSocket> wrongProtocol = http.newWebSocketBuilder().subprotocols("derp")
                    .buildAsync(ws, new WebSocket.Listener() {});
            assertThat(wrongProtocol).failsWithin(5, TimeUnit.SECONDS).withThrowableThat().havingRootCause().withMessageContaining("400");
            CompletableFuture<WebSocket> noHandshake = http.newWebSocketBuilder().subprotocols("tailscale-control-protocol")
                    .buildAsync(URI.create("ws://127.0.0.1:" + url.getPort() + "/ts2021"), new WebSocket.Listener() {});
            assertThat(noHandshake).failsWithin(5, TimeUnit.SECONDS).withThrowableThat().havingRootCause().withMessageContaining("400");
        }
    }
}
