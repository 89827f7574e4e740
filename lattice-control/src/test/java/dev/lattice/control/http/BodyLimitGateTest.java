package dev.lattice.control.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The front port's body bound per request: the default for everything, a larger one only for requests the
 * {@link LargeBodies} decision grants (off the event loop, before the body is aggregated), with order kept when
 * requests are pipelined behind a held one.
 */
class BodyLimitGateTest {
    static final int DEFAULT = 1024;
    static final int LARGE = 64 * 1024;

    /** Grants the large bound to PUT /big with "Authorization: ok"; counts its decisions. */
    static final class Decider implements LargeBodies {
        int decisions;

        @Override
        public boolean mayBeLarge(HttpRequest head) {
            return head.uri().equals("/big");
        }

        @Override
        public int limit(HttpRequest head) {
            decisions++;
            return "ok".equals(head.headers().get("Authorization")) ? LARGE : 0;
        }
    }

    final ArrayDeque<Runnable> workerTasks = new ArrayDeque<>();
    final List<String> received = new ArrayList<>();
    final Decider decider = new Decider();
    final EmbeddedChannel ch = new EmbeddedChannel(
            new HttpServerCodec(),
            new BodyLimitGate(decider, workerTasks::add, "agg", DEFAULT));

    {
        ch.pipeline().addLast("agg", new BoundedAggregator(DEFAULT, "request body"));
        ch.pipeline().addLast(new SimpleChannelInboundHandler<FullHttpRequest>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                received.add(req.method() + " " + req.uri() + " " + req.content().readableBytes());
            }
        });
    }

    @AfterEach
    void close() {
        ch.finishAndReleaseAll();
    }

    static ByteBuf request(String method, String uri, String auth, int bodyBytes) {
        String head = method + " " + uri + " HTTP/1.1\r\nHost: x\r\n" + (auth == null ? "" : "Authorization: " + auth + "\r\n")
                + "Content-Length: " + bodyBytes + "\r\n\r\n";
        return Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.US_ASCII), "a".repeat(bodyBytes).getBytes(StandardCharsets.US_ASCII));
    }

    /** Runs the worker's decisions, then what they scheduled back on the event loop. */
    void decide() {
        while (!workerTasks.isEmpty()) workerTasks.poll().run();
        ch.runPendingTasks();
    }

    String response() {
        ByteBuf out = ch.readOutbound();
        if (out == null) return null;
        try {
            return out.toString(StandardCharsets.UTF_8);
        } finally {
            out.release();
        }
    }

    @Test
    void smallRequestsPassWithoutADecision() {
        ch.writeInbound(request("PUT", "/big", null, 100));
        ch.writeInbound(request("POST", "/other", null, DEFAULT));
        assertThat(received).containsExactly("PUT /big 100", "POST /other " + DEFAULT);
        assertThat(decider.decisions).isZero();
    }

    @Test
    void aGrantedRequestMayBeLargeAndTheNextIsBoundAgain() {
        ch.writeInbound(request("PUT", "/big", "ok", 10_000));
        assertThat(received).as("held until decided").isEmpty();
        assertThat(ch.config().isAutoRead()).as("reading paused meanwhile").isFalse();
        decide();
        assertThat(received).containsExactly("PUT /big 10000");
        assertThat(ch.config().isAutoRead()).isTrue();

        ch.writeInbound(request("POST", "/other", null, 2 * DEFAULT));
        assertThat(received).hasSize(1);
        assertThat(response()).startsWith("HTTP/1.1 413").endsWith("request body is larger than 1 KiB\n");
    }

    @Test
    void aRefusedRequestKeepsTheDefaultAndIsToldTheLimit() {
        ch.writeInbound(request("PUT", "/big", "wrong", 10_000));
        decide();
        assertThat(received).isEmpty();
        assertThat(response()).startsWith("HTTP/1.1 413").endsWith("request body is larger than 1 KiB\n");
        // Over the granted bound too: refused, naming it.
        ch.writeInbound(request("PUT", "/big", "ok", LARGE + 1));
        decide();
        assertThat(received).isEmpty();
        assertThat(response()).startsWith("HTTP/1.1 413").endsWith("request body is larger than 64 KiB\n");
    }

    @Test
    void requestsPipelinedBehindAHeldOneKeepTheirOrder() {
        ByteBuf both = Unpooled.wrappedBuffer(request("PUT", "/big", "ok", 5000), request("POST", "/small", null, 10),
                request("PUT", "/big", "ok", 3000));
        ch.writeInbound(both);
        assertThat(received).isEmpty();
        decide();
        decide();
        assertThat(received).containsExactly("PUT /big 5000", "POST /small 10", "PUT /big 3000");
        assertThat(decider.decisions).isEqualTo(2);
        assertThat(ch.config().isAutoRead()).isTrue();
    }
}
