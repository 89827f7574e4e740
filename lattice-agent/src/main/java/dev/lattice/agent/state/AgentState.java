package dev.lattice.agent.state;

import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import java.util.Objects;

/**
 * Everything {@code latticed} persists: the machine key (identifies this machine to the control server for good),
 * the node key (the WireGuard identity, replaced on re-login), the node key it replaced, and the prefs.
 * {@code toString} never shows the keys.
 *
 * @param oldNodeKey the previous node key, sent as OldNodeKey when re-registering with a new one; or null
 */
public record AgentState(MachinePrivateKey machineKey, NodePrivateKey nodeKey, NodePrivateKey oldNodeKey, Prefs prefs) {

    public AgentState {
        Objects.requireNonNull(machineKey, "machineKey");
        Objects.requireNonNull(nodeKey, "nodeKey");
        Objects.requireNonNull(prefs, "prefs");
    }

    /** A fresh identity with default prefs. */
    public static AgentState generate() {
        return new AgentState(MachinePrivateKey.generate(), NodePrivateKey.generate(), null, Prefs.defaults());
    }

    public AgentState withPrefs(Prefs p) {
        return new AgentState(machineKey, nodeKey, oldNodeKey, p);
    }

    /** A new node key; the current one becomes {@code oldNodeKey} (re-login after logout or expiry). */
    public AgentState withNewNodeKey() {
        return new AgentState(machineKey, NodePrivateKey.generate(), nodeKey, prefs);
    }

    @Override
    public String toString() {
        return "AgentState[machine=" + machineKey.publicKey() + ", node=" + nodeKey.publicKey() + ", prefs=" + prefs + "]";
    }
}
