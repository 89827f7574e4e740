package dev.lattice.agent.peerapi;

import java.net.InetSocketAddress;

/**
 * Where the peer API's {@code /v0/ingress} hands Funnel connections (tailscale's {@code HandleIngressTCPConn}): the
 * serve listener of the target's port, reached on loopback, which terminates TLS on this node.
 */
public interface Ingress {
    /** The loopback address serving {@code target} ("host:port") for Funnel, or null when Funnel is not on for it. */
    InetSocketAddress backend(String target);

    /**
     * Names the Funnel client {@code src} as the one behind the loopback connection from {@code localPort}, until the
     * returned handle is closed (the connection ended).
     */
    AutoCloseable connected(int localPort, InetSocketAddress src);
}
