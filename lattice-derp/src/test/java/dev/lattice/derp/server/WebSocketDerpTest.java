package dev.lattice.derp.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.derp.Loopback;
import dev.lattice.derp.Recorder;
import dev.lattice.derp.WsDerpClient;
import dev.lattice.derp.client.DerpClient;
import dev.lattice.derp.standalone.StandaloneDerper;
import dev.lattice.wire.derp.DerpFrame;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * DERP over a WebSocket ({@code Upgrade: websocket}, subprotocol {@code derp}, as tailscale's derphttp client dials
 * with {@code TS_DEBUG_DERP_WS_CLIENT=1}): the same relay, reachable both ways at once; without the subprotocol the
 * upgrade is refused as tailscale's server refuses it.
 */
class WebSocketDerpTest {
    final Loopback lab = new Loopback();

    @AfterEach
    void tearDown() {
        lab.close();
    }

    static URI ws(StandaloneDerper d) {
        return URI.create("ws://127.0.0.1:" + d.boundAddress().getPort() + "/derp");
    }

    @Test
    void webSocketClientsRelayToEachOtherAndToPlainClients() throws Exception {
        StandaloneDerper d = lab.server(DerpServerOptions.defaults());
        try (WsDerpClient a = new WsDerpClient(ws(d)); WsDerpClient b = new WsDerpClient(ws(d))) {
            assertThat(a.subprotocol).isEqualTo("derp");
            assertThat(a.serverKey()).isEqualTo(d.server().publicKey());
            a.send(new DerpFrame.SendPacket(b.key.publicKey(), "over websocket".getBytes()));
            DerpFrame.RecvPacket p = b.nextPacket(Duration.ofSeconds(5));
            assertThat(p).isNotNull();
            assertThat(p.src()).isEqualTo(a.key.publicKey());
            assertThat(new String(p.packet())).isEqualTo("over websocket");

            // a plain DERP client on the same relay, both directions
            Recorder rc = new Recorder();
            DerpClient c = lab.client(d, rc);
            c.connect().get(5, TimeUnit.SECONDS);
            c.send(a.key.publicKey(), new byte[] {1, 2, 3});
            assertThat(a.nextPacket(Duration.ofSeconds(5)).packet()).containsExactly(1, 2, 3);
            byte[] big = new byte[60_000];
            new java.util.Random(7).nextBytes(big);
            a.send(new DerpFrame.SendPacket(c.publicKey(), big));
            assertThat(rc.next(Duration.ofSeconds(5)).data()).isEqualTo(big);
            assertThat(d.server().webSocketAccepts()).isEqualTo(2);
            assertThat(d.server().stats().currentClients()).isEqualTo(3);
        }
    }

    @Test
    void withoutTheDerpSubprotocolTheUpgradeIsRefused() throws Exception {
        StandaloneDerper d = lab.server(DerpServerOptions.defaults());
        try (HttpClient http = HttpClient.newHttpClient()) {
            assertThatThrownBy(() -> http.newWebSocketBuilder().subprotocols("other").buildAsync(ws(d), new java.net.http.WebSocket.Listener() {})
                    .get(5, TimeUnit.SECONDS)).rootCause().hasMessageContaining("426");
            HttpResponse<String> plain = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.boundAddress().getPort() + "/derp"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(plain.statusCode()).isEqualTo(426);
        }
        assertThat(d.server().webSocketAccepts()).isZero();
    }
}
