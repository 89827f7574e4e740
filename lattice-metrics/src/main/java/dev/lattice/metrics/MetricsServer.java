package dev.lattice.metrics;

import dev.lattice.guard.BodyLimiter;
import dev.lattice.guard.ConnectionGuard;
import dev.lattice.guard.RequestDeadline;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;

/**
 * A listener serving only {@code /metrics}, with the protections of any listener strangers can reach: admission by
 * a {@link ConnectionGuard}, tiny request bodies, and a deadline for each request to arrive whole.
 */
public final class MetricsServer implements AutoCloseable {
    private final Channel channel;

    private MetricsServer(Channel channel) {
        this.channel = channel;
    }

    /** Binds {@code addr} on {@code group} (the caller's to shut down). */
    public static MetricsServer start(InetSocketAddress addr, Metrics metrics, ConnectionGuard guard, EventLoopGroup group)
            throws InterruptedException {
        MetricsHandler handler = new MetricsHandler(metrics);
        Channel ch = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        if (!guard.admit(c)) return;
                        c.pipeline().addLast(new HttpServerCodec(4096, 8192, 8192), new BodyLimiter(4096),
                                new HttpObjectAggregator(4096), new RequestDeadline(guard.limits().requestTimeout, true), handler);
                    }
                }).bind(addr).sync().channel();
        return new MetricsServer(ch);
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
