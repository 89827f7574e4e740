package dev.lattice.wireguard.device;

import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wireguard.conn.Endpoint;
import dev.lattice.wireguard.uapi.AllowedIpChange;
import dev.lattice.wireguard.uapi.DeviceState;
import dev.lattice.wireguard.uapi.PeerChange;
import dev.lattice.wireguard.uapi.PeerState;
import dev.lattice.wireguard.uapi.PrivateKeyChange;
import dev.lattice.wireguard.uapi.UapiDevice;
import dev.lattice.wireguard.uapi.UapiError;
import dev.lattice.wireguard.uapi.UapiException;
import dev.lattice.wireguard.uapi.UapiSet;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Applies UAPI transactions to a {@link Device} with wireguard-go's semantics, and reports its state. */
public final class DeviceUapi implements UapiDevice {
    private final Device device;

    public DeviceUapi(Device device) {
        this.device = device;
    }

    @Override
    public DeviceState state() {
        List<PeerState> peers = new ArrayList<>();
        for (Peer p : device.peers()) {
            Endpoint ep = p.endpoint();
            peers.add(new PeerState(p.publicKey(), p.presharedKey(), ep == null ? null : ep.address(),
                    p.lastHandshakeEpochNanos(), p.rxBytes(), p.txBytes(), p.persistentKeepaliveSeconds(),
                    device.allowedIps().prefixesOf(p)));
        }
        return new DeviceState(device.privateKey(), device.listenPort(), device.fwmark(), peers);
    }

    @Override
    public void apply(UapiSet set) throws UapiException {
        if (set.privateKey() instanceof PrivateKeyChange.Replace r) device.setPrivateKey(r.key());
        else if (set.privateKey() instanceof PrivateKeyChange.Clear) device.setPrivateKey(null);
        if (set.listenPort() != null) {
            try {
                device.setListenPort(set.listenPort());
            } catch (IOException e) {
                throw new UapiException(UapiError.PORT_IN_USE, "failed to set listen_port: " + e.getMessage(), e);
            }
        }
        if (set.fwmark() != null) {
            try {
                device.setFwmark(set.fwmark());
            } catch (IOException e) {
                throw new UapiException(UapiError.PORT_IN_USE, "failed to set fwmark: " + e.getMessage(), e);
            }
        }
        if (set.replacePeers()) device.removeAllPeers();
        for (PeerChange c : set.peers()) applyPeer(c);
    }

    private void applyPeer(PeerChange c) {
        NodePublicKey key = c.publicKey();
        var priv = device.privateKey();
        if (priv != null && priv.publicKey().equals(key)) return; // our own key: ignored, as wireguard-go
        if (c.remove()) {
            device.removePeer(key);
            return;
        }
        Peer p = device.peer(key);
        if (p == null) {
            if (c.updateOnly()) return;
            p = device.addPeer(key);
            if (p == null) return;
        }
        if (c.presharedKey() != null) device.setPresharedKey(p, c.presharedKey());
        if (c.endpoint() != null) device.setEndpoint(p, c.endpoint());
        if (c.replaceAllowedIps()) device.allowedIps().removeValue(p);
        for (AllowedIpChange a : c.allowedIps()) {
            switch (a) {
                case AllowedIpChange.Add add -> device.allowedIps().insert(add.prefix(), p);
                case AllowedIpChange.Remove rm -> device.allowedIps().remove(rm.prefix(), p);
            }
        }
        // Keepalive last, so the immediate keepalive goes to the endpoint set above.
        if (c.persistentKeepaliveSeconds() != null) device.setPersistentKeepalive(p, c.persistentKeepaliveSeconds());
    }
}
