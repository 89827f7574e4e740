package dev.lattice.control.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.noise.ControlSession;
import dev.lattice.control.store.ConflictException;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.wire.tailcfg.MapRequest;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.SetDNSRequest;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

class MachineStreamHandlerTest {
    static final ControlSession SESSION = new ControlSession(MachinePrivateKey.generate().publicKey(), 130,
            new InetSocketAddress("127.0.0.1", 40000));

    @Test
    void aRegistrationThatLosesAUniqueConstraintIsA409NamingTheColumn() {
        FullHttpResponse r = register(CompletableFuture.failedFuture(
                new ConflictException("node: node key already in use", null, "node_key")));

        assertThat(r.status().code()).isEqualTo(409);
        assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("node key already in use");
    }

    @Test
    void aRefusalKeepsItsOwnStatusAndMessage() {
        FullHttpResponse r = register(CompletableFuture.failedFuture(new HttpError(403, "auth key expired")));

        assertThat(r.status().code()).isEqualTo(403);
        assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("auth key expired");
    }

    @Test
    void anythingElseIsABare500ThatTellsTheClientNothing() {
        FullHttpResponse r = register(CompletableFuture.failedFuture(new IllegalStateException("pool exhausted at db01:5432")));

        assertThat(r.status().code()).isEqualTo(500);
        assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("internal error").doesNotContain("db01");
    }

    @Test
    void aConflictThrownOutsideRegistrationIsA409Too() {
        EmbeddedChannel ch = new EmbeddedChannel(new MachineStreamHandler(SESSION, new Service(null) {
            @Override
            public void setDns(ControlSession s, SetDNSRequest r) {
                throw new ConflictException("dns record: name already in use", null, "name");
            }
        }, Runnable::run));
        ch.writeInbound(request("/machine/set-dns", "{\"Version\":130,\"Name\":\"_acme-challenge.a.ts.test\",\"Type\":\"TXT\"}"));

        FullHttpResponse r = ch.readOutbound();
        assertThat(r.status().code()).isEqualTo(409);
    }

    static FullHttpResponse register(CompletionStage<RegisterResponse> answer) {
        EmbeddedChannel ch = new EmbeddedChannel(new MachineStreamHandler(SESSION, new Service(answer), Runnable::run));
        ch.writeInbound(request("/machine/register", "{\"Version\":130}"));
        FullHttpResponse r = ch.readOutbound();
        assertThat(r).as("a response").isNotNull();
        return r;
    }

    static DefaultFullHttpRequest request(String path, String json) {
        return new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path,
                Unpooled.copiedBuffer(json, StandardCharsets.UTF_8));
    }

    static class Service implements MachineService {
        final CompletionStage<RegisterResponse> answer;

        Service(CompletionStage<RegisterResponse> answer) {
            this.answer = answer;
        }

        @Override
        public CompletionStage<RegisterResponse> register(ControlSession s, RegisterRequest r) {
            return answer;
        }

        @Override
        public void map(ControlSession s, MapRequest r, MapSink sink) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void setDns(ControlSession s, SetDNSRequest r) {
            throw new UnsupportedOperationException();
        }
    }
}
