package dev.lattice.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Http2Watch} on a real HTTP/2 connection over loopback: the server has a frame codec, a multiplex handler
 * whose streams answer {@code /quick} at once and hold {@code /hold} open, and the watch; clients are Netty HTTP/2
 * clients that acknowledge PINGs (as every implementation does) or, to play a dead peer, do not.
 */
class Http2WatchTest {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    ConnectionGuard guard = new ConnectionGuard(Limits.builder().build());
    Channel server;
    final BlockingQueue<Channel> serverConnections = new LinkedBlockingQueue<>();
    final AtomicInteger pingsSeenByClient = new AtomicInteger();
    /** Called with each stream the server opens, before its handler is added. */
    volatile Consumer<Http2StreamChannel> onStream = s -> {};

    @AfterEach
    void stop() {
        if (server != null) server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    void startServer(Duration anonymousIdle, Duration idle) throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (!guard.admit(ch)) return;
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(),
                                new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                                    @Override
                                    protected void initChannel(Http2StreamChannel stream) {
                                        onStream.accept(stream);
                                        stream.pipeline().addLast(new Responder());
                                    }
                                }),
                                new Http2Watch(anonymousIdle, idle));
                        serverConnections.add(ch);
                    }
                })
                .bind(InetAddress.ofLiteral("127.0.0.1"), 0).sync().channel();
    }

    /** Answers 200 at once, except on {@code /hold}, whose stream stays open until the client resets it. */
    static final class Responder extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2HeadersFrame h && h.isEndStream() && !"/hold".contentEquals(h.headers().path())) {
                ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), true));
            }
            ReferenceCountUtil.release(msg);
        }
    }

    Channel connect(boolean ackPings) throws InterruptedException {
        return new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().autoAckPingFrame(ackPings).build(),
                                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()),
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        if (msg instanceof Http2PingFrame) pingsSeenByClient.incrementAndGet();
                                        ReferenceCountUtil.release(msg);
                                    }
                                });
                    }
                })
                .connect(server.localAddress()).sync().channel();
    }

    Channel serverSideOfNextConnection() throws InterruptedException {
        Channel ch = serverConnections.poll(5, TimeUnit.SECONDS);
        assertThat(ch).as("the server accepted a connection").isNotNull();
        return ch;
    }

    /** Sends GET {@code path} on a new stream; the result completes when the response headers arrive. */
    static Http2StreamChannel request(Channel client, String path, CompletableFuture<Void> answered) throws Exception {
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(client).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2HeadersFrame) answered.complete(null);
                ReferenceCountUtil.release(msg);
            }
        }).open().get(5, TimeUnit.SECONDS);
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(
                new DefaultHttp2Headers().method("GET").path(path).scheme("http").authority("test"), true)).sync();
        return stream;
    }

    static boolean closedWithin(Channel ch, Duration d) throws InterruptedException {
        return ch.closeFuture().await(d.toMillis());
    }

    @Test
    void aPingIsAcknowledgedAndItsRoundTripTimeReported() throws Exception {
        startServer(Duration.ofMinutes(1), Duration.ofMinutes(1));
        Channel client = connect(true);
        Channel conn = serverSideOfNextConnection();
        Http2Watch watch = Http2Watch.of(conn);
        assertThat(watch).isNotNull();

        Duration rtt = watch.ping(Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);

        assertThat(rtt).isPositive().isLessThan(Duration.ofSeconds(5));
        assertThat(watch.ping(Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS)).as("pings may be repeated").isPositive();
        assertThat(conn.isActive() && client.isActive()).isTrue();
    }

    @Test
    void aPeerThatDoesNotAcknowledgeIsDisconnectedAfterTheTimeout() throws Exception {
        startServer(Duration.ofMinutes(1), Duration.ofMinutes(1));
        Channel client = connect(false);
        Channel conn = serverSideOfNextConnection();

        long start = System.nanoTime();
        CompletableFuture<Duration> ping = Http2Watch.of(conn).ping(Duration.ofMillis(300));

        assertThatThrownBy(() -> ping.get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TimeoutException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
        assertThat(closedWithin(conn, Duration.ofSeconds(5))).isTrue();
        assertThat(closedWithin(client, Duration.ofSeconds(5))).as("the client sees its connection go").isTrue();
        assertThat(pingsSeenByClient.get()).as("the PING did reach the client").isEqualTo(1);
    }

    @Test
    void pingsPendingWhenTheConnectionClosesFail() throws Exception {
        startServer(Duration.ofMinutes(1), Duration.ofMinutes(1));
        connect(false);
        Channel conn = serverSideOfNextConnection();
        Http2Watch watch = Http2Watch.of(conn);
        CompletableFuture<Duration> ping = watch.ping(Duration.ofMinutes(1));
        conn.close().sync();
        assertThatThrownBy(() -> ping.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> watch.ping(Duration.ofSeconds(1)).get(5, TimeUnit.SECONDS))
                .as("a ping on a closed connection fails at once").hasCauseInstanceOf(IllegalStateException.class);
    }

    @Test
    void theWatchIsFoundFromAStream() throws Exception {
        // Map sessions and route probes hold a stream and ask for a PING on its connection.
        startServer(Duration.ofMinutes(1), Duration.ofMinutes(1));
        CompletableFuture<Http2Watch> fromStream = new CompletableFuture<>();
        onStream = stream -> fromStream.complete(Http2Watch.of(stream));
        Channel client = connect(true);
        CompletableFuture<Void> answered = new CompletableFuture<>();
        request(client, "/quick", answered);
        Http2Watch w = fromStream.get(5, TimeUnit.SECONDS);
        assertThat(w).isNotNull();
        assertThat(w.ping(Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS)).isPositive();
    }

    @Test
    void anAnonymousConnectionWithoutStreamsIsClosedAfterItsIdleTimeout() throws Exception {
        startServer(Duration.ofMillis(400), Duration.ofMinutes(1));
        Channel client = connect(true);
        Channel conn = serverSideOfNextConnection();
        long start = System.nanoTime();

        assertThat(closedWithin(client, Duration.ofSeconds(5))).isTrue();

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
        assertThat(conn.isOpen()).isFalse();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (guard.openConnections() != 0 && System.nanoTime() < deadline) Thread.sleep(10); // close listeners run after
        assertThat(guard.openConnections()).isZero();
    }

    @Test
    void aPromotedConnectionHasTheLongerIdleTimeout() throws Exception {
        startServer(Duration.ofMillis(400), Duration.ofSeconds(3));
        Channel anonymous = connect(true);
        serverSideOfNextConnection();
        Channel promoted = connect(true);
        ConnectionGuard.promote(serverSideOfNextConnection());

        assertThat(closedWithin(anonymous, Duration.ofSeconds(3))).isTrue();
        assertThat(promoted.isActive()).as("the promoted one outlives the anonymous timeout").isTrue();
        assertThat(closedWithin(promoted, Duration.ofSeconds(10))).as("but has an idle timeout of its own").isTrue();
    }

    @Test
    void anOpenStreamKeepsTheConnection() throws Exception {
        startServer(Duration.ofMillis(400), Duration.ofMinutes(1));
        Channel client = connect(true);
        serverSideOfNextConnection();
        Http2StreamChannel held = request(client, "/hold", new CompletableFuture<>());

        assertThat(closedWithin(client, Duration.ofMillis(1_500))).as("a stream is open").isFalse();

        held.close(); // resets the stream
        assertThat(closedWithin(client, Duration.ofSeconds(5))).as("no stream: idle again").isTrue();
    }

    @Test
    void theIdleClockStartsWhenTheLastStreamEnds() throws Exception {
        // A stream that opens and ends between two idle checks still counts as activity.
        Duration idle = Duration.ofMillis(1_600);
        startServer(idle, Duration.ofMinutes(1));
        Channel client = connect(true);
        serverSideOfNextConnection();
        Thread.sleep(1_100);
        CompletableFuture<Void> answered = new CompletableFuture<>();
        request(client, "/quick", answered);
        answered.get(5, TimeUnit.SECONDS);
        long ended = System.nanoTime();

        assertThat(closedWithin(client, idle.minusMillis(300))).as("closed %d ms after the last stream ended",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - ended)).isFalse();
        assertThat(closedWithin(client, Duration.ofSeconds(5))).isTrue();
    }
}
