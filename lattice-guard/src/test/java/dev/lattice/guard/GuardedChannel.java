package dev.lattice.guard;

import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** An {@link EmbeddedChannel} with a real peer address, as {@link ConnectionGuard#admit} and the proxy rules need. */
final class GuardedChannel extends EmbeddedChannel {
    private final InetSocketAddress remote;

    GuardedChannel(String ip) {
        this.remote = new InetSocketAddress(InetAddress.ofLiteral(ip), 40000);
        super();
    }

    /** A channel from {@code ip}, admitted by {@code guard} (the caller checks {@link #isOpen()} if it matters). */
    static GuardedChannel admitted(ConnectionGuard guard, String ip) {
        GuardedChannel ch = new GuardedChannel(ip);
        guard.admit(ch);
        return ch;
    }

    ConnectionGuard.Conn conn() {
        return ConnectionGuard.of(this);
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return remote;
    }

    static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }
}
