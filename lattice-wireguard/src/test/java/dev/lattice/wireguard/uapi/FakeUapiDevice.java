package dev.lattice.wireguard.uapi;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import dev.lattice.wire.ip.IpPrefix;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An in-memory device that applies {@link UapiSet}s with exactly the semantics documented on {@link UapiSet} and
 * {@link PeerChange} (wireguard-go's), and records every transaction it was given. The reference test runs it
 * side by side with wireguard-go, so it doubles as an executable specification for the real device.
 */
final class FakeUapiDevice implements UapiDevice {
    final List<UapiSet> applied = new CopyOnWriteArrayList<>();

    private NodePrivateKey privateKey;
    private int listenPort;
    private int fwmark;
    private final Map<NodePublicKey, Peer> peers = new LinkedHashMap<>();
    /** Each prefix's owner, like wireguard-go's allowed-IPs trie: a prefix belongs to at most one peer. */
    private final Map<IpPrefix, Peer> owners = new LinkedHashMap<>();
    private volatile UapiException failure;
    private volatile RuntimeException crash;

    private static final class Peer {
        final NodePublicKey publicKey;
        PresharedKey presharedKey = PresharedKey.NONE;
        InetSocketAddress endpoint;
        int keepalive;
        long lastHandshakeNanos, rx, tx;
        /** In wireguard-go's order: order of (last) insertion. */
        final LinkedHashSet<IpPrefix> allowedIps = new LinkedHashSet<>();

        Peer(NodePublicKey publicKey) {
            this.publicKey = publicKey;
        }
    }

    /** Makes every later {@code apply} throw {@code e} (null to stop). */
    void failWith(UapiException e) {
        failure = e;
    }

    /** Makes every later {@code apply} and {@code state} throw {@code e} (null to stop). */
    void crashWith(RuntimeException e) {
        crash = e;
    }

    synchronized void setStats(NodePublicKey key, long lastHandshakeNanos, long rx, long tx) {
        Peer p = peers.get(key);
        p.lastHandshakeNanos = lastHandshakeNanos;
        p.rx = rx;
        p.tx = tx;
    }

    @Override
    public synchronized DeviceState state() {
        if (crash != null) throw crash;
        List<PeerState> out = new ArrayList<>();
        for (Peer p : peers.values()) {
            out.add(new PeerState(p.publicKey, p.presharedKey, p.endpoint, p.lastHandshakeNanos, p.rx, p.tx,
                    p.keepalive, List.copyOf(p.allowedIps)));
        }
        return new DeviceState(privateKey, listenPort, fwmark, out);
    }

    @Override
    public synchronized void apply(UapiSet set) throws UapiException {
        applied.add(set);
        if (crash != null) throw crash;
        if (failure != null) throw failure;
        switch (set.privateKey()) {
            case null -> { }
            case PrivateKeyChange.Clear c -> privateKey = null;
            case PrivateKeyChange.Replace r -> {
                privateKey = r.key();
                Peer same = peers.get(r.key().publicKey());
                if (same != null) removePeer(same);
            }
        }
        if (set.listenPort() != null) listenPort = set.listenPort();
        if (set.fwmark() != null) fwmark = set.fwmark();
        if (set.replacePeers()) {
            for (Peer p : List.copyOf(peers.values())) removePeer(p);
        }
        NodePublicKey own = privateKey == null ? null : privateKey.publicKey();
        for (PeerChange change : set.peers()) {
            if (change.publicKey().equals(own)) continue;
            Peer p = peers.get(change.publicKey());
            if (change.remove()) {
                if (p != null) removePeer(p);
                continue;
            }
            if (p == null) {
                if (change.updateOnly()) continue;
                p = new Peer(change.publicKey());
                peers.put(p.publicKey, p);
            }
            if (change.presharedKey() != null) p.presharedKey = change.presharedKey();
            if (change.endpoint() != null) p.endpoint = change.endpoint();
            if (change.persistentKeepaliveSeconds() != null) p.keepalive = change.persistentKeepaliveSeconds();
            if (change.replaceAllowedIps()) {
                for (IpPrefix prefix : p.allowedIps) owners.remove(prefix);
                p.allowedIps.clear();
            }
            for (AllowedIpChange c : change.allowedIps()) {
                switch (c) {
                    case AllowedIpChange.Add(IpPrefix prefix) -> {
                        Peer old = owners.put(prefix, p);
                        if (old != null) old.allowedIps.remove(prefix);
                        p.allowedIps.add(prefix);
                    }
                    case AllowedIpChange.Remove(IpPrefix prefix) -> {
                        if (owners.get(prefix) == p) {
                            owners.remove(prefix);
                            p.allowedIps.remove(prefix);
                        }
                    }
                }
            }
        }
    }

    private void removePeer(Peer p) {
        for (IpPrefix prefix : p.allowedIps) owners.remove(prefix);
        peers.remove(p.publicKey);
    }
}
