package dev.lattice.guard;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
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
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The connection caps on real sockets: a server on 127.0.0.1 admits through {@link ConnectionGuard} in its channel
 * initializer, as the control and DERP listeners do, and clients connect from 127.0.0.2 and 127.0.0.3.
 */
class ConnectionGuardLoopbackTest {
    static final byte ADMITTED = 'A';

    EventLoopGroup group;
    ConnectionGuard guard;
    Channel server;
    /** Server-side channels of admitted connections, by the client's local port. */
    final Map<Integer, Channel> accepted = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws InterruptedException {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        guard = new ConnectionGuard(Limits.builder().maxAnonymousPerSource(2).maxConnections(3).build());
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (!guard.admit(ch)) return;
                        accepted.put(ch.remoteAddress().getPort(), ch);
                        // Tells the client it got in: a refused one sees its connection closed without this byte.
                        ch.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {ADMITTED}));
                    }
                })
                .bind(InetAddress.ofLiteral("127.0.0.1"), 0).sync().channel();
    }

    @AfterEach
    void stop() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** A client connection from {@code ip}, and whether the server admitted it. */
    record Client(Channel ch, boolean admitted) {}

    Client connect(String ip) throws Exception {
        CompletableFuture<Boolean> verdict = new CompletableFuture<>();
        Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (msg instanceof ByteBuf b && b.isReadable() && b.getByte(b.readerIndex()) == ADMITTED) {
                            verdict.complete(true);
                        }
                        ReferenceCountUtil.release(msg);
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        verdict.complete(false);
                    }
                })
                .localAddress(new InetSocketAddress(InetAddress.ofLiteral(ip), 0))
                .connect(server.localAddress()).sync().channel();
        return new Client(ch, verdict.get(5, TimeUnit.SECONDS));
    }

    Channel serverSide(Client c) {
        return accepted.get(((InetSocketAddress) c.ch().localAddress()).getPort());
    }

    @Test
    void theThirdAnonymousConnectionFromOneAddressIsClosed() throws Exception {
        assertThat(connect("127.0.0.2").admitted()).isTrue();
        assertThat(connect("127.0.0.2").admitted()).isTrue();

        Client third = connect("127.0.0.2");

        assertThat(third.admitted()).isFalse();
        assertThat(third.ch().closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(connect("127.0.0.3").admitted()).as("another address still gets in").isTrue();
        assertThat(guard.anonymousFrom(InetAddress.ofLiteral("127.0.0.2"))).isEqualTo(2);
        assertThat(guard.refused()).isEqualTo(1);
    }

    @Test
    void beyondTheTotalEveryNewConnectionIsClosed() throws Exception {
        assertThat(connect("127.0.0.2").admitted()).isTrue();
        assertThat(connect("127.0.0.3").admitted()).isTrue();
        Client third = connect("127.0.0.3");
        assertThat(third.admitted()).isTrue();

        assertThat(connect("127.0.0.4").admitted()).as("a fresh address, but the server is full").isFalse();

        third.ch().close().sync();
        awaitOpenConnections(2);
        assertThat(connect("127.0.0.4").admitted()).as("a closed connection frees its place").isTrue();
    }

    @Test
    void promotionFreesTheAnonymousSlot() throws Exception {
        Client first = connect("127.0.0.2");
        assertThat(connect("127.0.0.2").admitted()).isTrue();
        assertThat(connect("127.0.0.2").admitted()).isFalse();

        ConnectionGuard.promote(serverSide(first)); // the node proved itself, e.g. by completing the Noise handshake

        assertThat(connect("127.0.0.2").admitted()).isTrue();
        assertThat(guard.openConnections()).isEqualTo(3);
        assertThat(first.ch().isActive()).as("promotion does not disturb the connection").isTrue();
    }

    void awaitOpenConnections(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (guard.openConnections() != n && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(guard.openConnections()).isEqualTo(n);
    }
}
