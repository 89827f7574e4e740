package dev.lattice.control.store;

import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.Hostinfo;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.time.Instant;
import java.util.List;

/**
 * A registered node as the server keeps it, typed throughout: what the client reported (Hostinfo, endpoints) is
 * parsed once where it arrives and serialized only by {@link Nodes}. Not {@code tailcfg.Node}, which is how a node
 * is described to clients ({@code TailcfgNodes} turns one into the other). To create one, {@link #builder() build} it
 * (id 0) and pass it to {@link Nodes#create}; to change one, {@link #toBuilder()} and {@link Nodes#update}.
 *
 * @param discoKey null until the node's first map request
 * @param hostname as reported by the client in Hostinfo
 * @param givenName the node's unique DNS label, its MagicDNS name (see {@link DnsLabels})
 * @param userId null for nodes owned only by tags
 * @param ipv4 null when the IPv4 prefix is not configured
 * @param ipv6 null when the IPv6 prefix is not configured
 * @param hostinfo the client's Hostinfo, unknown fields included; null until it sends one
 * @param endpoints as reported
 * @param expiry node key expiry; null = never
 * @param lastSeen null = never seen online
 */
public record TailnetNode(
        long id,
        MachinePublicKey machineKey,
        NodePublicKey nodeKey,
        DiscoPublicKey discoKey,
        String hostname,
        String givenName,
        Long userId,
        Inet4Address ipv4,
        Inet6Address ipv6,
        Hostinfo hostinfo,
        List<AddrPort> endpoints,
        NodeTags tags,
        List<IpPrefix> approvedRoutes,
        Long authKeyId,
        boolean ephemeral,
        Instant expiry,
        Instant lastSeen,
        RegisterMethod registerMethod,
        Instant created,
        Instant updated) {

    public TailnetNode {
        if (machineKey == null || nodeKey == null) throw new IllegalArgumentException("machine and node keys are required");
        if (hostname == null) hostname = "";
        if (givenName == null || givenName.isEmpty()) throw new IllegalArgumentException("given name is required");
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
        if (tags == null) tags = NodeTags.NONE;
        approvedRoutes = approvedRoutes == null ? List.of() : List.copyOf(approvedRoutes);
        if (registerMethod == null) registerMethod = RegisterMethod.UNSPECIFIED;
    }

    /** A new node: id 0, nothing set; the store sets the times. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this node's values, to change some. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    public boolean isTagged() {
        return !tags.isEmpty();
    }

    public boolean isExpired(Instant now) {
        return expiry != null && !now.isBefore(expiry);
    }

    /** The routes the node announces (Hostinfo.RoutableIPs); approval only counts for these. */
    public List<IpPrefix> announcedRoutes() {
        return hostinfo == null ? List.of() : hostinfo.routableIps();
    }

    /** The fields of a {@link TailnetNode}, set by name; {@link #build()} checks them. */
    public static final class Builder {
        private long id;
        private MachinePublicKey machineKey;
        private NodePublicKey nodeKey;
        private DiscoPublicKey discoKey;
        private String hostname;
        private String givenName;
        private Long userId;
        private Inet4Address ipv4;
        private Inet6Address ipv6;
        private Hostinfo hostinfo;
        private List<AddrPort> endpoints;
        private NodeTags tags;
        private List<IpPrefix> approvedRoutes;
        private Long authKeyId;
        private boolean ephemeral;
        private Instant expiry;
        private Instant lastSeen;
        private RegisterMethod registerMethod;
        private Instant created;
        private Instant updated;

        private Builder() {}

        private Builder(TailnetNode n) {
            id = n.id;
            machineKey = n.machineKey;
            nodeKey = n.nodeKey;
            discoKey = n.discoKey;
            hostname = n.hostname;
            givenName = n.givenName;
            userId = n.userId;
            ipv4 = n.ipv4;
            ipv6 = n.ipv6;
            hostinfo = n.hostinfo;
            endpoints = n.endpoints;
            tags = n.tags;
            approvedRoutes = n.approvedRoutes;
            authKeyId = n.authKeyId;
            ephemeral = n.ephemeral;
            expiry = n.expiry;
            lastSeen = n.lastSeen;
            registerMethod = n.registerMethod;
            created = n.created;
            updated = n.updated;
        }

        public Builder id(long v) { id = v; return this; }
        public Builder machineKey(MachinePublicKey v) { machineKey = v; return this; }
        public Builder nodeKey(NodePublicKey v) { nodeKey = v; return this; }
        public Builder discoKey(DiscoPublicKey v) { discoKey = v; return this; }
        public Builder hostname(String v) { hostname = v; return this; }
        public Builder givenName(String v) { givenName = v; return this; }
        public Builder userId(Long v) { userId = v; return this; }
        public Builder ipv4(Inet4Address v) { ipv4 = v; return this; }
        public Builder ipv6(Inet6Address v) { ipv6 = v; return this; }
        public Builder hostinfo(Hostinfo v) { hostinfo = v; return this; }
        public Builder endpoints(List<AddrPort> v) { endpoints = v; return this; }
        public Builder tags(NodeTags v) { tags = v; return this; }
        public Builder approvedRoutes(List<IpPrefix> v) { approvedRoutes = v; return this; }
        public Builder authKeyId(Long v) { authKeyId = v; return this; }
        public Builder ephemeral(boolean v) { ephemeral = v; return this; }
        public Builder expiry(Instant v) { expiry = v; return this; }
        public Builder lastSeen(Instant v) { lastSeen = v; return this; }
        public Builder registerMethod(RegisterMethod v) { registerMethod = v; return this; }
        public Builder created(Instant v) { created = v; return this; }
        public Builder updated(Instant v) { updated = v; return this; }

        /** Both tailnet addresses (either may be null). */
        public Builder addresses(Inet4Address v4, Inet6Address v6) {
            ipv4 = v4;
            ipv6 = v6;
            return this;
        }

        /** @throws IllegalArgumentException when a key or the given name is missing */
        public TailnetNode build() {
            return new TailnetNode(id, machineKey, nodeKey, discoKey, hostname, givenName, userId, ipv4, ipv6, hostinfo,
                    endpoints, tags, approvedRoutes, authKeyId, ephemeral, expiry, lastSeen, registerMethod, created, updated);
        }
    }
}
