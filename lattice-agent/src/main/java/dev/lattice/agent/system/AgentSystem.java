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
import java.util.Objects;

/**
 * What the agent takes from the host, made outside the backend and handed in (tailscale's {@code tsd.System}): the
 * TUN, the UDP socket, the router, the resolver configuration, the clock, and facts about the host. The daemon uses
 * {@link #linux()}; tests put in-memory fakes in its place and run the whole backend without root.
 */
public record AgentSystem(Tuns tuns, UdpTransport.Factory udp, Routers routers, Resolvers resolvers, Clock clock,
                          HostEnv host, MagicSock.Options magicSock) {
    public AgentSystem {
        Objects.requireNonNull(tuns, "tuns");
        Objects.requireNonNull(udp, "udp");
        Objects.requireNonNull(routers, "routers");
        Objects.requireNonNull(resolvers, "resolvers");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(magicSock, "magicSock");
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
                Clock.SYSTEM, host, MagicSock.Options.defaults().withDerpHttp(derpHttp));
    }

    public AgentSystem withTuns(Tuns t) {
        return new AgentSystem(t, udp, routers, resolvers, clock, host, magicSock);
    }

    public AgentSystem withUdp(UdpTransport.Factory u) {
        return new AgentSystem(tuns, u, routers, resolvers, clock, host, magicSock);
    }

    public AgentSystem withRouters(Routers r) {
        return new AgentSystem(tuns, udp, r, resolvers, clock, host, magicSock);
    }

    public AgentSystem withResolvers(Resolvers r) {
        return new AgentSystem(tuns, udp, routers, r, clock, host, magicSock);
    }

    public AgentSystem withHost(HostEnv h) {
        return new AgentSystem(tuns, udp, routers, resolvers, clock, h, magicSock);
    }

    public AgentSystem withMagicSock(MagicSock.Options o) {
        return new AgentSystem(tuns, udp, routers, resolvers, clock, host, o);
    }
}
