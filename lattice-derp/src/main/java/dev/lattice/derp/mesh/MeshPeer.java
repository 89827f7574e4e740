package dev.lattice.derp.mesh;

import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.derp.client.DerpClient;
import dev.lattice.derp.client.DerpClientListener;
import dev.lattice.derp.client.DerpClientOptions;
import dev.lattice.derp.server.DerpServer;
import dev.lattice.derp.server.PacketForwarder;
import dev.lattice.wire.derp.DerpFrame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This server's link to one other server of its region. It connects with the server's own key and the mesh key,
 * subscribes to that server's connections, and registers itself as the packet forwarder for each client present
 * there; when the link drops, all those routes are withdrawn (and re-learned on reconnect). A link that turns out
 * to lead back to this very server (its own name in {@code --mesh-with}) stops itself.
 */
public final class MeshPeer implements AutoCloseable, PacketForwarder {
    private static final Logger log = LoggerFactory.getLogger(MeshPeer.class);

    private final DerpServer server;
    private final DerpClient client;
    private final Set<NodePublicKey> present = new HashSet<>(); // guarded by this

    public MeshPeer(DerpServer server, URI peerUrl, DerpClientOptions options, EventLoopGroup group) {
        this.server = Objects.requireNonNull(server, "server");
        if (server.meshKey() == null) throw new IllegalArgumentException("meshing needs a mesh key");
        this.client = new DerpClient(peerUrl, server.privateKey(), options.withMeshKey(server.meshKey()).withWatchConns(true)
                .withReconnect(true), group, new Listener());
    }

    /** Starts the link (it keeps reconnecting until closed). */
    public MeshPeer start() {
        client.connect();
        return this;
    }

    public DerpClient client() {
        return client;
    }

    /** Clients of the other server currently routed through this link. */
    public synchronized int routes() {
        return present.size();
    }

    @Override
    public void forwardPacket(NodePublicKey src, NodePublicKey dst, ByteBuf packet) {
        client.forwardPacket(src, dst, packet);
    }

    @Override
    public void close() {
        client.close();
        clear();
    }

    private void clear() {
        Set<NodePublicKey> gone;
        synchronized (this) {
            gone = Set.copyOf(present);
            present.clear();
        }
        for (NodePublicKey k : gone) server.removePacketForwarder(k, this);
    }

    private final class Listener implements DerpClientListener {
        @Override
        public void onConnected(NodePublicKey serverKey, int generation) {
            if (serverKey.equals(server.publicKey())) {
                log.info("mesh {}: that is this server; not meshing with it", client.url());
                client.close();
                return;
            }
            log.info("mesh {}: connected", client.url());
        }

        @Override
        public void onPeerPresent(DerpFrame.PeerPresent p) {
            synchronized (MeshPeer.this) {
                present.add(p.peer());
            }
            server.addPacketForwarder(p.peer(), MeshPeer.this);
        }

        @Override
        public void onPeerGone(NodePublicKey peer, int reason) {
            synchronized (MeshPeer.this) {
                present.remove(peer);
            }
            server.removePacketForwarder(peer, MeshPeer.this);
        }

        @Override
        public void onDisconnected(Throwable cause) {
            clear();
        }
    }

}
