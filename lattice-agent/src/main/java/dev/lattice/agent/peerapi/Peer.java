package dev.lattice.agent.peerapi;

import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.UserProfile;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * The tailnet node on the other end of a peer API connection, found from the connection's source address in the
 * netmap (tailscale's {@code WhoIs}).
 *
 * @param node the peer (or our own node, for a connection from ourselves)
 * @param user its user's profile, or null when the netmap has none
 * @param remote the connection's source address and port
 * @param sameUser whether it belongs to the user this node belongs to (tailscale's {@code isSelf})
 */
public record Peer(Node node, UserProfile user, InetSocketAddress remote, boolean sameUser) {
    public Peer {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(remote, "remote");
    }

    /** The peer's MagicDNS name without the trailing dot, or its host name. */
    public String displayName() {
        String n = node.name();
        if (n != null && !n.isEmpty()) return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
        return node.hostinfo() != null && node.hostinfo().hostname() != null ? node.hostinfo().hostname() : "?";
    }
}
