package dev.lattice.control.netmap;

import dev.lattice.control.store.Node;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.NetPortRange;
import dev.lattice.wire.tailcfg.PortRange;
import java.util.List;

/**
 * What the policy decides for the netmap: each node's inbound packet filter and which peers it may see. The
 * default (no policy set) is Tailscale's allow-all: every node reaches every node.
 */
public interface PacketPolicy {
    List<FilterRule> filterFor(Node node);

    boolean canSee(Node viewer, Node peer);

    /** tailcfg.SSHPolicy for {@code node}; null = none (Tailscale SSH refuses everyone). */
    default tools.jackson.databind.JsonNode sshPolicyFor(Node node) {
        return null;
    }

    /** tailcfg.FilterAllowAll: any source, any destination, any port, default protocols. */
    List<FilterRule> ALLOW_ALL_RULES = List.of(new FilterRule(List.of("*"), null,
            List.of(new NetPortRange("*", null, PortRange.ANY)), null, null));

    PacketPolicy ALLOW_ALL = new PacketPolicy() {
        @Override
        public List<FilterRule> filterFor(Node node) {
            return ALLOW_ALL_RULES;
        }

        @Override
        public boolean canSee(Node viewer, Node peer) {
            return true;
        }
    };
}
