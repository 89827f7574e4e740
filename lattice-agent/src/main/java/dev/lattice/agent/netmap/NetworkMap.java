package dev.lattice.agent.netmap;

import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DNSConfig;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.UserProfile;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What the agent knows of its tailnet at one moment (tailscale's {@code netmap.NetworkMap}): an immutable
 * snapshot, replaced as a whole after each map response is applied.
 *
 * @param self our own node (addresses, name, key expiry, MachineAuthorized)
 * @param peers every peer we may see, sorted by node ID
 * @param dns the DNS config (MagicDNS, nameservers, split routes), or null
 * @param derpMap the DERP regions, or null before the first full map
 * @param packetFilter the rules for traffic arriving at this node
 * @param userProfiles users by ID
 * @param domain the tailnet's name
 * @param controlTime the control server's clock at the last message, or null
 */
public record NetworkMap(
        Node self,
        List<Node> peers,
        DNSConfig dns,
        DERPMap derpMap,
        List<FilterRule> packetFilter,
        Map<Long, UserProfile> userProfiles,
        String domain,
        Instant controlTime) {

    public NetworkMap {
        peers = List.copyOf(peers);
        packetFilter = packetFilter == null ? List.of() : List.copyOf(packetFilter);
        userProfiles = Map.copyOf(userProfiles);
    }
}
