package dev.lattice.derp.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.Loopback;
import dev.lattice.derp.Recorder;
import dev.lattice.derp.client.DerpClient;
import dev.lattice.derp.client.DerpClientOptions;
import dev.lattice.derp.standalone.StandaloneDerper;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Standalone verify_clients: derper's --verify-client-url against a fake control server. */
class VerifyClientsTest {
    private final Loopback lab = new Loopback();
    private HttpServer control;

    @AfterEach
    void tearDown() {
        lab.close();
        if (control != null) control.stop(0);
    }

    @Test
    void onlyNodesTheControlServerKnowsAreAdmitted() throws Exception {
        NodePrivateKey registered = NodePrivateKey.generate();
        List<String> requests = new CopyOnWriteArrayList<>();
        control = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        control.createContext("/verify", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            requests.add(ex.getRequestMethod() + " " + body);
            boolean allow = body.contains(registered.publicKey().toString());
            byte[] res = ("{\"Allow\":" + allow + "}").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, res.length);
            ex.getResponseBody().write(res);
            ex.close();
        });
        control.start();
        URI url = URI.create("http://127.0.0.1:" + control.getAddress().getPort() + "/verify");
        StandaloneDerper d = lab.server(DerpServerOptions.defaults().withVerifier(new HttpAdmissionVerifier(url, false)));

        DerpClient stranger = lab.client(d, new Recorder());
        assertThatThrownBy(() -> stranger.connect().get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
        DerpClient member = lab.client(Loopback.url(d), registered, DerpClientOptions.defaults().withReconnect(false), new Recorder());
        member.connect().get(10, TimeUnit.SECONDS);

        assertThat(requests).hasSize(2);
        assertThat(requests.get(1)).isEqualTo("POST {\"NodePublic\":\"" + registered.publicKey() + "\",\"Source\":\"127.0.0.1\"}");
    }

    @Test
    void unreachableControllerFailsOpenOnlyWhenAskedTo() throws Exception {
        URI dead = URI.create("http://127.0.0.1:1/verify");
        StandaloneDerper closed = lab.server(DerpServerOptions.defaults().withVerifier(new HttpAdmissionVerifier(dead, false)));
        assertThatThrownBy(() -> lab.client(closed, new Recorder()).connect().get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
        StandaloneDerper open = lab.server(DerpServerOptions.defaults().withVerifier(new HttpAdmissionVerifier(dead, true)));
        lab.client(open, new Recorder()).connect().get(10, TimeUnit.SECONDS);
    }
}
