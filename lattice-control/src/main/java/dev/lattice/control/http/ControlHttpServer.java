package dev.lattice.control.http;

import dev.lattice.control.noise.Ts2021Upgrader;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The control server's listener. Pipeline per connection: [TLS] → HTTP/1.1 codec → body-limit gate → aggregator →
 * [DERP] → front handler. The ts2021 and DERP upgrades replace everything after TLS with their own protocol handlers.
 */
public final class ControlHttpServer implements AutoCloseable {
    /** Request bodies on the front port are tiny (registration confirmations, DERP admission checks). */
    static final int MAX_FRONT_BODY = 64 << 10;

    private final EventLoopGroup group;
    private final ExecutorService workers;
    private final Channel channel;

    private ControlHttpServer(EventLoopGroup group, ExecutorService workers, Channel channel) {
        this.group = group;
        this.workers = workers;
        this.channel = channel;
    }

    /**
     * @param ssl TLS context, or null for plain HTTP (server_url http://, or behind a TLS-terminating proxy)
     * @param derpHandler the embedded DERP server's HTTP handler, or null
     * @param large the requests that may carry more than {@link #MAX_FRONT_BODY} (an admin's policy)
     */
    public static ControlHttpServer start(InetSocketAddress listen, SslContext ssl, ChannelHandler derpHandler,
            Ts2021Upgrader upgrader, Routes routes, LargeBodies large, int ioThreads) throws InterruptedException {
        EventLoopGroup group = NettyTransport.group(ioThreads);
        ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
        try {
            ServerBootstrap b = new ServerBootstrap().group(group).channel(NettyTransport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.SO_KEEPALIVE, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            if (ssl != null) ch.pipeline().addLast("tls", ssl.newHandler(ch.alloc()));
                            // Only the HTTP/1 phase has a read deadline; upgrades remove it with the codec.
                            ch.pipeline().addLast("http-timeout", new ReadTimeoutHandler(60));
                            ch.pipeline().addLast("http", new HttpServerCodec(8192, 16384, 16384));
                            ch.pipeline().addLast("http-body-limit", new BodyLimitGate(large, workers, "http-aggregator", MAX_FRONT_BODY));
                            ch.pipeline().addLast("http-aggregator", new BoundedAggregator(MAX_FRONT_BODY, "request body"));
                            if (derpHandler != null) ch.pipeline().addLast("derp", derpHandler);
                            ch.pipeline().addLast("front", new FrontHandler(upgrader, routes, workers));
                        }
                    });
            Channel ch = b.bind(listen).sync().channel();
            return new ControlHttpServer(group, workers, ch);
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully();
            workers.shutdownNow();
            throw e;
        }
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownNow();
    }
}
