package dev.lattice.guard;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * {@link BodyLimiter} between an HTTP decoder and the aggregator: what it forwards (the channel's inbound queue),
 * what it answers (the outbound queue), and what it charges the {@link ConnectionGuard}.
 */
class BodyLimiterTest {
    static final int ANON = 1_000;
    static final int PROMOTED = 4_000;

    // 1500 per connection, 3000 per source, 6000 in all.
    final ConnectionGuard guard = new ConnectionGuard(Limits.builder()
            .maxAnonymousBody(ANON).maxBody(PROMOTED).bodyBytes(1_500, 3_000, 6_000).build());
    final List<EmbeddedChannel> channels = new ArrayList<>();

    @AfterEach
    void releaseEverything() {
        for (EmbeddedChannel ch : channels) ch.finishAndReleaseAll();
    }

    GuardedChannel guarded(BodyLimiter limiter) {
        GuardedChannel ch = GuardedChannel.admitted(guard, "192.0.2.1");
        ch.pipeline().addLast(limiter);
        channels.add(ch);
        return ch;
    }

    static HttpRequest post(long contentLength) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/machine/register");
        if (contentLength >= 0) HttpUtil.setContentLength(r, contentLength);
        else HttpUtil.setTransferEncodingChunked(r, true);
        return r;
    }

    static HttpContent chunk(int n) {
        return new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[n]));
    }

    static LastHttpContent last(int n) {
        return new DefaultLastHttpContent(Unpooled.wrappedBuffer(new byte[n]));
    }

    /** Everything forwarded so far, released. */
    static List<Object> forwarded(EmbeddedChannel ch) {
        List<Object> out = new ArrayList<>();
        for (Object m; (m = ch.readInbound()) != null; ) {
            out.add(m);
            ReferenceCountUtil.release(m);
        }
        return out;
    }

    static long forwardedBodyBytes(List<Object> msgs) {
        return msgs.stream().filter(m -> m instanceof HttpContent).mapToLong(m -> ((HttpContent) m).content().writerIndex()).sum();
    }

    static HttpResponseStatus answered(EmbeddedChannel ch) {
        FullHttpResponse r = ch.readOutbound();
        assertThat(r).as("a response").isNotNull();
        try {
            assertThat(r.headers().get(HttpHeaderNames.CONNECTION)).isEqualToIgnoringCase("close");
            return r.status();
        } finally {
            r.release();
        }
    }

    @Nested
    class BodyLimits {
        @Test
        void aDeclaredLengthOverTheLimitIsAnswered413AndNothingIsForwarded() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON));
            ch.writeInbound(post(ANON + 1), chunk(600), last(401));

            assertThat(answered(ch)).isEqualTo(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE);
            assertThat(forwarded(ch)).isEmpty();
            assertThat(ch.isOpen()).isFalse();
            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void aBodyUpToTheLimitPassesWhole() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON));
            ch.writeInbound(post(ANON), chunk(600), last(400));

            List<Object> out = forwarded(ch);
            assertThat(out).hasSize(3);
            assertThat(forwardedBodyBytes(out)).isEqualTo(ANON);
            assertThat(ch.<Object>readOutbound()).isNull();
            assertThat(ch.isOpen()).isTrue();
        }

        @Test
        void aChunkedBodyThatGrowsOverTheLimitIsCutOffWith413() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON));
            ch.writeInbound(post(-1), chunk(600));
            assertThat(forwarded(ch)).hasSize(2);

            ch.writeInbound(chunk(600), chunk(600), last(0));

            assertThat(answered(ch)).isEqualTo(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE);
            assertThat(forwarded(ch)).as("nothing past the limit is forwarded").isEmpty();
            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void aLyingContentLengthDoesNotHelp() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON));
            ch.writeInbound(post(10), chunk(900), chunk(900));
            assertThat(answered(ch)).isEqualTo(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE);
        }

        @Test
        void aPromotedConnectionMaySendMore() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON));
            ConnectionGuard.promote(ch);
            ch.writeInbound(post(1_200), chunk(700), last(500));

            assertThat(forwardedBodyBytes(forwarded(ch))).isEqualTo(1_200);
            assertThat(ch.<Object>readOutbound()).isNull();
        }

        @Test
        void anUnguardedChannelHasTheGivenLimit() {
            EmbeddedChannel ch = new EmbeddedChannel(new BodyLimiter(100));
            channels.add(ch);
            ch.writeInbound(post(100), last(100));
            assertThat(forwarded(ch)).hasSize(2);
            ch.writeInbound(post(101));
            assertThat(answered(ch)).isEqualTo(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE);
        }

        @Test
        void eachRequestOfAKeepAliveConnectionHasItsOwnLimit() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON));
            for (int i = 0; i < 5; i++) ch.writeInbound(post(-1), chunk(500), last(400));
            assertThat(forwardedBodyBytes(forwarded(ch))).isEqualTo(5 * 900);
            assertThat(ch.<Object>readOutbound()).isNull();
        }
    }

    @Nested
    class Budgets {
        @Test
        void bytesAreChargedUntilTheLastContentAndThenGivenBack() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON));
            ch.writeInbound(post(-1), chunk(300), chunk(200));
            assertThat(guard.bodyBytesInFlight()).isEqualTo(500);

            ch.writeInbound(last(100));

            assertThat(guard.bodyBytesInFlight()).isZero();
            assertThat(forwardedBodyBytes(forwarded(ch))).isEqualTo(600);
        }

        @Test
        void bytesAreGivenBackWhenTheConnectionCloses() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON));
            ch.writeInbound(post(-1), chunk(300));
            assertThat(guard.bodyBytesInFlight()).isEqualTo(300);

            ch.close();

            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void bytesAreGivenBackWhenTheHandlerIsRemoved() {
            // A protocol upgrade removes the HTTP handlers mid-way.
            BodyLimiter limiter = new BodyLimiter(ANON);
            GuardedChannel ch = guarded(limiter);
            ch.writeInbound(post(-1), chunk(300));
            ch.pipeline().remove(limiter);
            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void aSpentBudgetIsAnswered503AndShedsTheRequest() {
            // Three connections from one source: 1400 + 1400 of the source's 3000 are held, 300 more are too many.
            GuardedChannel a = guarded(new BodyLimiter(ANON));
            GuardedChannel b = guarded(new BodyLimiter(ANON));
            GuardedChannel c = guarded(new BodyLimiter(ANON));
            ConnectionGuard.promote(a);
            ConnectionGuard.promote(b);
            ConnectionGuard.promote(c);
            a.writeInbound(post(-1), chunk(1_400));
            b.writeInbound(post(-1), chunk(1_400));
            forwarded(a);
            forwarded(b);

            c.writeInbound(post(-1), chunk(300));

            assertThat(answered(c)).isEqualTo(HttpResponseStatus.SERVICE_UNAVAILABLE);
            assertThat(forwarded(c)).as("only the head got through; the body was shed").hasSize(1);
            assertThat(c.isOpen()).isFalse();
            assertThat(guard.shedRequests()).isEqualTo(1);
            assertThat(guard.bodyBytesInFlight()).isEqualTo(2_800);
            a.close();
            b.close();
            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void theConnectionsBudgetIsSpentBeforeItsLimitWhenRequestsOverlap() {
            // HTTP/2: each stream has its own limiter, all charge the one connection.
            GuardedChannel conn = guarded(new BodyLimiter(ANON));
            ConnectionGuard.promote(conn);
            conn.writeInbound(post(-1), chunk(1_000));
            BodyLimiter second = new BodyLimiter(ANON);
            EmbeddedChannel stream = new EmbeddedChannel(conn, io.netty.channel.DefaultChannelId.newInstance(), true, false, second);
            channels.add(stream);

            stream.writeInbound(post(-1), chunk(501));

            assertThat(answered(stream)).isEqualTo(HttpResponseStatus.SERVICE_UNAVAILABLE);
            assertThat(guard.bodyBytesInFlight()).isEqualTo(1_000);
        }
    }

    @Nested
    class UploadGate {
        final List<HttpRequest> asked = new ArrayList<>();
        CompletableFuture<Integer> decision = new CompletableFuture<>();

        /** Gates PUT /api/v1/policy; other requests have the connection's limit. */
        final BodyLimiter.UploadGate gate = head -> {
            if (!head.method().equals(HttpMethod.PUT)) return null;
            asked.add(head);
            return decision;
        };

        static HttpRequest upload(long contentLength) {
            HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.PUT, "/api/v1/policy");
            if (contentLength >= 0) HttpUtil.setContentLength(r, contentLength);
            else HttpUtil.setTransferEncodingChunked(r, true);
            return r;
        }

        @Test
        void readsStopWhileTheGateDecidesAndNothingIsForwarded() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON, gate));
            ch.writeInbound(upload(10_000), chunk(500));

            assertThat(asked).hasSize(1);
            assertThat(ch.config().isAutoRead()).isFalse();
            assertThat(forwarded(ch)).isEmpty();
            assertThat(guard.bodyBytesInFlight()).as("held bytes are not charged yet").isZero();

            decision.complete(20_000);
            ch.runPendingTasks();

            assertThat(ch.config().isAutoRead()).isTrue();
            assertThat(forwarded(ch)).hasSize(2);
        }

        @Test
        void aGrantedLimitLetsALargeBodyThrough() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON, gate));
            ch.writeInbound(upload(5_000), chunk(2_000));
            decision.complete(5_000);
            ch.runPendingTasks();

            ch.writeInbound(chunk(2_000));
            assertThat(guard.bodyBytesInFlight())
                    .as("over the connection's 1500 and the source's 3000: only the server's budget applies")
                    .isEqualTo(4_000);
            ch.writeInbound(last(1_000));

            assertThat(forwardedBodyBytes(forwarded(ch))).isEqualTo(5_000);
            assertThat(ch.<Object>readOutbound()).isNull();
            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void aGrantedLimitIsStillALimit() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON, gate));
            ch.writeInbound(upload(-1));
            decision.complete(5_000);
            ch.runPendingTasks();
            ch.writeInbound(chunk(3_000), chunk(3_000));
            assertThat(answered(ch)).isEqualTo(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE);
            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void aDeclaredLengthOverTheGrantIsAnswered413WithoutForwarding() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON, gate));
            ch.writeInbound(upload(10_000), chunk(500));
            decision.complete(5_000);
            ch.runPendingTasks();
            assertThat(answered(ch)).isEqualTo(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE);
            assertThat(forwarded(ch)).isEmpty();
        }

        @Test
        void refusalIsAnswered401WithoutForwardingAnything() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON, gate));
            ch.writeInbound(upload(10_000), chunk(500), chunk(500));
            decision.complete(0);
            ch.runPendingTasks();

            assertThat(answered(ch)).isEqualTo(HttpResponseStatus.UNAUTHORIZED);
            assertThat(forwarded(ch)).isEmpty();
            assertThat(ch.isOpen()).isFalse();
            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void aFailingGateRefuses() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON, gate));
            ch.writeInbound(upload(100));
            decision.completeExceptionally(new IllegalStateException("database down"));
            ch.runPendingTasks();
            assertThat(answered(ch)).isEqualTo(HttpResponseStatus.UNAUTHORIZED);
            assertThat(forwarded(ch)).isEmpty();
        }

        @Test
        void requestsTheGateDoesNotKnowHaveTheConnectionsLimit() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON, gate));
            ch.writeInbound(post(ANON + 1));
            assertThat(asked).isEmpty();
            assertThat(answered(ch)).isEqualTo(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE);
        }

        @Test
        void aPipelinedRequestAfterAGrantedUploadHasTheConnectionsLimitAgain() {
            // Both requests arrive in one read, so the second one waits with the first one's body for the gate.
            EmbeddedChannel ch = GuardedChannel.admitted(guard, "192.0.2.1");
            ch.pipeline().addLast(new HttpRequestDecoder(), new BodyLimiter(ANON, gate));
            channels.add(ch);
            String policy = "x".repeat(3_000);
            String wire = "PUT /api/v1/policy HTTP/1.1\r\nHost: h\r\nContent-Length: 3000\r\n\r\n" + policy
                    + "POST /machine/register HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n" + "y".repeat(2_000);
            ch.writeInbound(Unpooled.copiedBuffer(wire, StandardCharsets.US_ASCII));
            decision.complete(10_000);
            ch.runPendingTasks();

            List<Object> out = forwarded(ch);
            assertThat(out.stream().filter(m -> m instanceof HttpRequest).map(m -> ((HttpRequest) m).uri()))
                    .as("the upload is forwarded, the oversized register request is not")
                    .containsExactly("/api/v1/policy");
            assertThat(forwardedBodyBytes(out)).isEqualTo(3_000);
            assertThat(answered(ch)).isEqualTo(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE);
            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void aSecondGatedRequestInTheSameReadWaitsForItsOwnDecision() {
            EmbeddedChannel ch = GuardedChannel.admitted(guard, "192.0.2.1");
            List<CompletableFuture<Integer>> decisions = new ArrayList<>();
            ch.pipeline().addLast(new HttpRequestDecoder(), new BodyLimiter(ANON, head -> {
                CompletableFuture<Integer> d = new CompletableFuture<>();
                decisions.add(d);
                return d;
            }));
            channels.add(ch);
            String wire = "PUT /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                    + "PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\ndef";
            ch.writeInbound(Unpooled.copiedBuffer(wire, StandardCharsets.US_ASCII));
            decisions.getFirst().complete(100);
            ch.runPendingTasks();

            assertThat(decisions).as("the second request was put to the gate").hasSize(2);
            assertThat(ch.config().isAutoRead()).as("reads stay stopped for the second decision").isFalse();
            assertThat(forwarded(ch).stream().filter(m -> m instanceof HttpRequest).map(m -> ((HttpRequest) m).uri()))
                    .containsExactly("/a");

            decisions.get(1).complete(100);
            ch.runPendingTasks();
            assertThat(ch.config().isAutoRead()).isTrue();
            assertThat(forwarded(ch).stream().filter(m -> m instanceof HttpRequest).map(m -> ((HttpRequest) m).uri()))
                    .containsExactly("/b");
        }

        @Test
        void aConnectionClosedWhileTheGateDecidesForwardsNothingLater() {
            GuardedChannel ch = guarded(new BodyLimiter(ANON, gate));
            ByteBuf body = Unpooled.wrappedBuffer(new byte[500]);
            ch.writeInbound(upload(1_000), new DefaultHttpContent(body));
            ch.close();
            assertThat(body.refCnt()).as("held content is released").isZero();

            decision.complete(10_000);
            ch.runPendingTasks();

            assertThat(forwarded(ch)).isEmpty();
            assertThat(guard.bodyBytesInFlight()).isZero();
        }
    }

    /**
     * On a real socket a refused client that is still sending its body gets the answer, not a reset: the server
     * reads and drops the rest of the body before it closes (with unread bytes, closing would send a reset).
     */
    @Nested
    class OnRealSockets {
        EventLoopGroup group;
        Channel server;

        @BeforeEach
        void start() throws InterruptedException {
            group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            BodyLimiter.UploadGate refuseUploads =
                    head -> head.method().equals(HttpMethod.PUT) ? CompletableFuture.completedFuture(0) : null;
            server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpRequestDecoder(), new HttpResponseEncoder(),
                                    new BodyLimiter(ANON, refuseUploads));
                        }
                    })
                    .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
        }

        @AfterEach
        void stop() {
            server.close().syncUninterruptibly();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }

        /** Sends a request with a 16 MiB body (more than loopback's socket buffers hold), then reads the answer. */
        String sendWholeBodyThenRead(String method) throws IOException {
            int size = 16 << 20;
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), ((InetSocketAddress) server.localAddress()).getPort())) {
                s.setSoTimeout(10_000);
                OutputStream out = s.getOutputStream();
                out.write((method + " /api/v1/policy HTTP/1.1\r\nHost: h\r\nContent-Length: " + size + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                byte[] block = new byte[64 << 10];
                for (int sent = 0; sent < size; sent += block.length) out.write(block);
                out.flush();
                return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            }
        }

        @Test
        void aBodyOverTheLimitIsAnswered413EvenWhileTheClientKeepsSending() throws IOException {
            assertThat(sendWholeBodyThenRead("POST")).startsWith("HTTP/1.1 413 ").contains("connection: close");
        }

        @Test
        void aRefusedUploadIsAnswered401EvenWhileTheClientKeepsSending() throws IOException {
            assertThat(sendWholeBodyThenRead("PUT")).startsWith("HTTP/1.1 401 ").endsWith("Unauthorized\n");
        }
    }
}
