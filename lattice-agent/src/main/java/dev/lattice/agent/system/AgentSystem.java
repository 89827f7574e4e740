package dev.lattice.agent.system;

import dev.lattice.agent.dns.DnsConfigurator;
import dev.lattice.agent.dns.OsDnsConfigurator;
import dev.lattice.agent.magicsock.MagicSock;
import dev.lattice.agent.router.LinuxRouter;
import dev.lattice.agent.router.Router;
import dev.lattice.wireguard.conn.UdpSocket;
import dev.lattice.wireguard.conn.UdpTransport;
import dev.lattice.wireguard.device.Clock;
import dev.lattice.wireguard.tun.LinuxTun;
import dev.lattice.wireguard.tun.TunDevice;
import java.io.IOException;
import java.nio.file.Path;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.unix.IntegerUnixChannelOption;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.LoggerFactory;

/**
 * What the agent takes from the host, made outside the backend and handed in (tailscale's {@code tsd.System}): the
 * TUN, the UDP socket, the router, the resolver configuration, the clock, facts about the host, and how its own
 * connections are made (marked so they bypass the tunnel). The daemon uses
 * {@link #linux()}; tests put in-memory fakes in its place and run the whole backend without root.
 */
public record AgentSystem(Tuns tuns, UdpTransport.Factory udp, Routers routers, Resolvers resolvers, Clock clock,
                          HostEnv host, MagicSock.Options magicSock, Sockets sockets) {
    public AgentSystem {
        Objects.requireNonNull(tuns, "tuns");
        Objects.requireNonNull(udp, "udp");
        Objects.requireNonNull(routers, "routers");
        Objects.requireNonNull(resolvers, "resolvers");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(magicSock, "magicSock");
        Objects.requireNonNull(sockets, "sockets");
    }

    /**
     * How the daemon's own connections are made (tailscale's netns dialer): the event loops' transport, the bootstrap
     * setup of its TCP connections (control, DERP: channel type and socket options) and the fwmark of its WireGuard
     * UDP socket. On Linux all of them carry {@link LinuxRouter#BYPASS_MARK}, so the router's policy rules keep them
     * out of the tunnel, even when an exit node takes the default route.
     *
     * @param udpMark the WireGuard socket's SO_MARK, 0 for none
     */
    public record Sockets(IoHandlerFactory ioHandler, Consumer<Bootstrap> dialer, int udpMark) {
        public Sockets {
            Objects.requireNonNull(ioHandler, "ioHandler");
            Objects.requireNonNull(dialer, "dialer");
        }

        /** setsockopt(SOL_SOCKET, SO_MARK): Linux's values (asm-generic), set before connect by epoll channels. */
        static final IntegerUnixChannelOption SO_MARK = new IntegerUnixChannelOption("SO_MARK", 1, 36);

        /** NIO, nothing marked: for tests and hosts without policy routing. */
        public static Sockets plain() {
            return new Sockets(NioIoHandler.newFactory(), b -> {}, 0);
        }

        /** epoll with SO_MARK on every connection (NIO, unmarked TCP, if epoll is missing). */
        public static Sockets linux() {
            if (!Epoll.isAvailable()) {
                LoggerFactory.getLogger(AgentSystem.class).warn("epoll unavailable ({}): control and DERP connections are"
                        + " not marked and follow an exit node's default route", Epoll.unavailabilityCause().toString());
                return new Sockets(NioIoHandler.newFactory(), b -> {}, LinuxRouter.BYPASS_MARK);
            }
            return new Sockets(EpollIoHandler.newFactory(), b -> b.channel(EpollSocketChannel.class)
                    .option(SO_MARK, LinuxRouter.BYPASS_MARK), LinuxRouter.BYPASS_MARK);
        }
    }

    /** Opens the TUN interface. */
    @FunctionalInterface
    public interface Tuns {
        TunDevice open(String name, int mtu) throws IOException;
    }

    /** Makes the router for the TUN interface (it sets the interface up). */
    @FunctionalInterface
    public interface Routers {
        Router open(String tun, int mtu) throws IOException;
    }

    /** Makes the resolver configurator; its backup lives in the state directory. */
    @FunctionalInterface
    public interface Resolvers {
        DnsConfigurator open(Path stateDir);
    }

    /**
     * The real host: a TUN with offloads, the FFM UDP socket, iproute2, /etc/resolv.conf, the system clock; DERP over
     * plain HTTP when {@code TS_DEBUG_USE_DERP_HTTP} says so (tailscaled's switch).
     */
    public static AgentSystem linux() {
        HostEnv host = HostEnv.system();
        String v = host.env("TS_DEBUG_USE_DERP_HTTP");
        boolean derpHttp = "1".equals(v) || "true".equalsIgnoreCase(v);
        return new AgentSystem((name, mtu) -> LinuxTun.open(name, mtu, true), UdpSocket::open, LinuxRouter::new,
                stateDir -> new OsDnsConfigurator(Path.of("/etc/resolv.conf"), stateDir.resolve("resolv.pre-lattice.conf")),
                Clock.SYSTEM, host, MagicSock.Options.defaults().withDerpHttp(derpHttp), Sockets.linux());
    }

    public AgentSystem withTuns(Tuns t) {
        return new AgentSystem(t, udp, routers, resolvers, clock, host, magicSock, sockets);
    }

    public AgentSystem withUdp(UdpTransport.Factory u) {
        return new AgentSystem(tuns, u, routers, resolvers, clock, host, magicSock, sockets);
    }

    public AgentSystem withRouters(Routers r) {
        return new AgentSystem(tuns, udp, r, resolvers, clock, host, magicSock, sockets);
    }

    public AgentSystem withResolvers(Resolvers r) {
        return new AgentSystem(tuns, udp, routers, r, clock, host, magicSock, sockets);
    }

    public AgentSystem withHost(HostEnv h) {
        return new AgentSystem(tuns, udp, routers, resolvers, clock, h, magicSock, sockets);
    }

    public AgentSystem withSockets(Sockets s) {
        return new AgentSystem(tuns, udp, routers, resolvers, clock, host, magicSock, s);
    }

    public AgentSystem withMagicSock(MagicSock.Options o) {
        return new AgentSystem(tuns, udp, routers, resolvers, clock, host, o, sockets);
    }
}
