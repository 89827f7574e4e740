package dev.lattice.control.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;

/** Epoll where available (Linux), NIO elsewhere. */
public final class NettyTransport {
    /** Unacknowledged data for this long means the peer is gone, whatever the kernel's 15-minute retry default. */
    static final int TCP_USER_TIMEOUT_MS = 30_000;

    private NettyTransport() {}

    public static EventLoopGroup group(int threads) {
        IoHandlerFactory f = Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, f);
    }

    public static Class<? extends ServerChannel> serverChannel() {
        return Epoll.isAvailable() ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /**
     * TCP keep-alives after 30 s of silence (three probes 10 s apart), and on Linux a user timeout: a connection
     * whose peer vanished (cut cable, power loss, NAT state dropped) ends within about a minute even when nobody
     * writes, and within {@value #TCP_USER_TIMEOUT_MS} ms of unacknowledged data when somebody does.
     */
    public static void tcpLiveness(ServerBootstrap b) {
        b.childOption(ChannelOption.SO_KEEPALIVE, true).childOption(ChannelOption.TCP_NODELAY, true);
        if (Epoll.isAvailable()) {
            b.childOption(EpollChannelOption.TCP_KEEPIDLE, 30)
                    .childOption(EpollChannelOption.TCP_KEEPINTVL, 10)
                    .childOption(EpollChannelOption.TCP_KEEPCNT, 3)
                    .childOption(EpollChannelOption.TCP_USER_TIMEOUT, TCP_USER_TIMEOUT_MS);
        }
    }
}
