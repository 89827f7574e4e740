package dev.lattice.control.store;

import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.time.Instant;
import java.util.List;

/**
 * A registered node (machine). To create one, build it with {@link #draft} (id 0) and pass it to
 * {@link Nodes#create}; to change one, use the {@code with...} copies and {@link Nodes#update}.
 *
 * @param discoKey null until the node's first map request
 * @param hostname as reported by the client in Hostinfo
 * @param givenName the node's unique DNS label, its MagicDNS name (see {@link DnsLabels})
 * @param userId null for nodes owned only by tags
 * @param ipv4 null when the IPv4 prefix is not configured
 * @param ipv6 null when the IPv6 prefix is not configured
 * @param hostinfoJson the client's Hostinfo JSON, stored verbatim; may be null
 * @param endpoints {@code ip:port} strings as reported
 * @param expiry node key expiry; null = never
 * @param lastSeen null = never seen online
 * @param registerMethod e.g. {@code authkey}, {@code cli}, {@code oidc}
 */
public record Node(
        long id,
        MachinePublicKey machineKey,
        NodePublicKey nodeKey,
        DiscoPublicKey discoKey,
        String hostname,
        String givenName,
        Long userId,
        Inet4Address ipv4,
        Inet6Address ipv6,
        String hostinfoJson,
        List<String> endpoints,
        List<String> tags,
        List<IpPrefix> approvedRoutes,
        Long authKeyId,
        boolean ephemeral,
        Instant expiry,
        Instant lastSeen,
        String registerMethod,
        Instant created,
        Instant updated) {

    public Node {
        if (machineKey == null || nodeKey == null) throw new IllegalArgumentException("machine and node keys are required");
        if (hostname == null) hostname = "";
        if (givenName == null || givenName.isEmpty()) throw new IllegalArgumentException("given name is required");
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
        tags = tags == null ? List.of() : List.copyOf(tags);
        approvedRoutes = approvedRoutes == null ? List.of() : List.copyOf(approvedRoutes);
        if (registerMethod == null) registerMethod = "";
    }

    /** A node not yet stored: id 0, no disco key, hostinfo or endpoints yet; times are set by the store. */
    public static Node draft(MachinePublicKey machineKey, NodePublicKey nodeKey, String hostname, String givenName,
                             Long userId, Inet4Address ipv4, Inet6Address ipv6) {
        return new Node(0, machineKey, nodeKey, null, hostname, givenName, userId, ipv4, ipv6, null, List.of(),
                List.of(), List.of(), null, false, null, null, "", null, null);
    }

    public boolean isTagged() {
        return !tags.isEmpty();
    }

    public boolean isExpired(Instant now) {
        return expiry != null && !now.isBefore(expiry);
    }

    public Node withNodeKey(NodePublicKey k) {
        return new Node(id, machineKey, k, discoKey, hostname, givenName, userId, ipv4, ipv6, hostinfoJson, endpoints, tags, approvedRoutes, authKeyId, ephemeral, expiry, lastSeen, registerMethod, created, updated);
    }

    public Node withDiscoKey(DiscoPublicKey k) {
        return new Node(id, machineKey, nodeKey, k, hostname, givenName, userId, ipv4, ipv6, hostinfoJson, endpoints, tags, approvedRoutes, authKeyId, ephemeral, expiry, lastSeen, registerMethod, created, updated);
    }

    public Node withHostinfo(String hostname, String hostinfoJson) {
        return new Node(id, machineKey, nodeKey, discoKey, hostname, givenName, userId, ipv4, ipv6, hostinfoJson, endpoints, tags, approvedRoutes, authKeyId, ephemeral, expiry, lastSeen, registerMethod, created, updated);
    }

    public Node withEndpoints(List<String> e) {
        return new Node(id, machineKey, nodeKey, discoKey, hostname, givenName, userId, ipv4, ipv6, hostinfoJson, e, tags, approvedRoutes, authKeyId, ephemeral, expiry, lastSeen, registerMethod, created, updated);
    }

    public Node withExpiry(Instant e) {
        return new Node(id, machineKey, nodeKey, discoKey, hostname, givenName, userId, ipv4, ipv6, hostinfoJson, endpoints, tags, approvedRoutes, authKeyId, ephemeral, e, lastSeen, registerMethod, created, updated);
    }

    /** Other tailnet addresses (either may be null). */
    public Node withAddresses(Inet4Address a4, Inet6Address a6) {
        return new Node(id, machineKey, nodeKey, discoKey, hostname, givenName, userId, a4, a6, hostinfoJson, endpoints, tags, approvedRoutes, authKeyId, ephemeral, expiry, lastSeen, registerMethod, created, updated);
    }

    public Node withTags(List<String> t) {
        return new Node(id, machineKey, nodeKey, discoKey, hostname, givenName, userId, ipv4, ipv6, hostinfoJson, endpoints, t, approvedRoutes, authKeyId, ephemeral, expiry, lastSeen, registerMethod, created, updated);
    }

    public Node withApprovedRoutes(List<IpPrefix> r) {
        return new Node(id, machineKey, nodeKey, discoKey, hostname, givenName, userId, ipv4, ipv6, hostinfoJson, endpoints, tags, r, authKeyId, ephemeral, expiry, lastSeen, registerMethod, created, updated);
    }

    public Node withGivenName(String g) {
        return new Node(id, machineKey, nodeKey, discoKey, hostname, g, userId, ipv4, ipv6, hostinfoJson, endpoints, tags, approvedRoutes, authKeyId, ephemeral, expiry, lastSeen, registerMethod, created, updated);
    }

    public Node withLastSeen(Instant t) {
        return new Node(id, machineKey, nodeKey, discoKey, hostname, givenName, userId, ipv4, ipv6, hostinfoJson, endpoints, tags, approvedRoutes, authKeyId, ephemeral, expiry, t, registerMethod, created, updated);
    }

    public Node withUserId(Long u) {
        return new Node(id, machineKey, nodeKey, discoKey, hostname, givenName, u, ipv4, ipv6, hostinfoJson, endpoints, tags, approvedRoutes, authKeyId, ephemeral, expiry, lastSeen, registerMethod, created, updated);
    }

    /** Registration details: which auth key (if any), ephemeral or not, and how. */
    public Node withRegistration(Long authKeyId, boolean ephemeral, String registerMethod) {
        return new Node(id, machineKey, nodeKey, discoKey, hostname, givenName, userId, ipv4, ipv6, hostinfoJson, endpoints, tags, approvedRoutes, authKeyId, ephemeral, expiry, lastSeen, registerMethod, created, updated);
    }
}
