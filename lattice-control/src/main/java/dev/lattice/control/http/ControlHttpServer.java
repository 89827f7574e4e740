package dev.lattice.control.http;

import dev.lattice.control.noise.Ts2021Upgrader;
import dev.lattice.guard.BodyLimiter;
import dev.lattice.guard.ConnectionGuard;
import dev.lattice.guard.ProxyHeaders;
import dev.lattice.guard.RequestDeadline;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * One of the control server's TCP listeners (the main port, the metrics port). Pipeline per connection, after the
 * {@link ConnectionGuard} admitted it: [TLS] → HTTP/1.1 codec → proxy headers → body limiter → aggregator → request
 * deadline → [DERP] → front handler. The ts2021 and DERP upgrades replace everything after TLS with their own
 * protocol handlers; the guard's accounting stays with the channel.
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
     * What a listener serves; {@code ssl}, {@code derpHandler}, {@code upgrader}, {@code uploads} and {@code requests}
     * (where each request's route and status are counted) may be null.
     */
    public record Service(SslContext ssl, ChannelHandler derpHandler, Ts2021Upgrader upgrader, Routes routes,
                         BodyLimiter.UploadGate uploads, HttpMetricsHandler.Sink requests) {
        /** Plain HTTP routes only (the metrics port). */
        public static Service routes(Routes routes, HttpMetricsHandler.Sink requests) {
            return new Service(null, null, null, routes, null, requests);
        }
    }

    public static ControlHttpServer start(InetSocketAddress listen, ConnectionGuard guard, Service service, int ioThreads)
            throws InterruptedException {
        EventLoopGroup group = NettyTransport.group(ioThreads);
        ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
        ProxyHeaders proxyHeaders = new ProxyHeaders(guard.limits().trustedProxy);
        try {
            ServerBootstrap b = new ServerBootstrap().group(group).channel(NettyTransport.serverChannel())
                    // A restart storm is every node connecting at once: a short accept queue drops their SYNs, and each
                    // waits out TCP's retransmit (1 s, 3 s, 7 s...). As Go's listeners: the kernel's cap (somaxconn).
                    .option(ChannelOption.SO_BACKLOG, 65535)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            if (!guard.admit(ch)) return;
                            if (service.ssl() != null) ch.pipeline().addLast("tls", service.ssl().newHandler(ch.alloc()));
                            ch.pipeline().addLast("http", new HttpServerCodec(8192, 16384, 16384));
                            if (service.requests() != null) ch.pipeline().addLast("http-metrics", new HttpMetricsHandler(service.requests()));
                            ch.pipeline().addLast("http-proxy-headers", proxyHeaders);
                            ch.pipeline().addLast("http-body-limit", new BodyLimiter(MAX_FRONT_BODY, service.uploads()));
                            ch.pipeline().addLast("http-aggregator", new HttpObjectAggregator(Integer.MAX_VALUE));
                            // Absolute, unlike a read timeout: a client trickling one header byte at a time is cut
                            // off too. Upgrades remove it with the other HTTP handlers.
                            ch.pipeline().addLast("http-deadline", new RequestDeadline(guard.limits().requestTimeout, true));
                            if (service.derpHandler() != null) ch.pipeline().addLast("derp", service.derpHandler());
                            ch.pipeline().addLast("front", new FrontHandler(service.upgrader(), service.routes(), workers));
                        }
                    });
            NettyTransport.tcpLiveness(b);
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
