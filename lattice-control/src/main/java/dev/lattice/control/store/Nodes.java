package dev.lattice.control.store;

import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.SqlStatement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;

/**
 * The {@code nodes} table, and the only place a {@link TailnetNode} is serialized: Hostinfo as the client's JSON
 * object, endpoints, tags and approved routes as JSON arrays of strings (as Headscale stores them). Machine key, node
 * key, given name and each address are unique.
 */
public final class Nodes {
    private static final Logger log = LoggerFactory.getLogger(Nodes.class);
    private static final String COLUMNS = "id, machine_key, node_key, disco_key, hostname, given_name, user_id, ipv4, ipv6,"
            + " hostinfo, endpoints, tags, approved_routes, auth_key_id, ephemeral, expiry, last_seen, register_method,"
            + " created_at, updated_at";
    private final Store store;

    Nodes(Store store) {
        this.store = store;
    }

    /**
     * Stores a new node built with {@link TailnetNode#builder()} (its id and times are ignored). Throws
     * {@link ConflictException} naming the column when a key, given name or address is taken, and
     * {@link NotFoundException} when the user or auth key does not exist.
     */
    public TailnetNode create(TailnetNode draft) {
        return create(draft, null);
    }

    /**
     * Stores a new node and, in the same transaction, spends the single-use key that registers it.
     *
     * @param spend the key to mark used, or null for none
     * @throws AuthKeyException with reason ALREADY_USED when the key was spent meanwhile; nothing is stored then
     */
    public TailnetNode create(TailnetNode draft, KeyUse spend) {
        return store.write("create node \"" + draft.givenName() + "\"", h -> {
            if (spend != null) PreAuthKeys.spend(h, spend);
            Instant now = store.now();
            var q = h.createQuery("INSERT INTO nodes (machine_key, node_key, disco_key, hostname, given_name, user_id, ipv4,"
                    + " ipv6, hostinfo, endpoints, tags, approved_routes, auth_key_id, ephemeral, expiry, last_seen,"
                    + " register_method, created_at, updated_at) VALUES (:machine_key, :node_key, :disco_key, :hostname,"
                    + " :given_name, :user_id, :ipv4, :ipv6, :hostinfo, :endpoints, :tags, :approved_routes, :auth_key_id,"
                    + " :ephemeral, :expiry, :last_seen, :register_method, :created, :updated) RETURNING id");
            bindMutable(q, draft)
                    .bind("machine_key", draft.machineKey().toString())
                    .bind("created", Store.millis(now))
                    .bind("updated", Store.millis(now));
            long id = q.mapTo(Long.class).one();
            store.changes().append(h, ChangeLog.Kind.NODE, id);
            return get(h, id).orElseThrow();
        });
    }

    /**
     * Writes every field except the machine key and creation time (key rotation, disco key, hostinfo, endpoints,
     * expiry, tags, approved routes, given name, owner, addresses, last seen) and returns the stored node.
     */
    public TailnetNode update(TailnetNode node) {
        return update(node, null);
    }

    /**
     * Writes the node (as {@link #update(TailnetNode)}) and, in the same transaction, spends the single-use key it
     * re-registered with.
     *
     * @param spend the key to mark used, or null for none
     * @throws AuthKeyException with reason ALREADY_USED when the key was spent meanwhile; nothing is stored then
     */
    public TailnetNode update(TailnetNode node, KeyUse spend) {
        return update(node, spend, null);
    }

    /**
     * As {@link #update(TailnetNode, KeyUse)}, only if the row is still the one {@code expectedUpdated} (its
     * {@link TailnetNode#updated()}) names: replicas on PostgreSQL write a node only from its current row. There
     * every write moves updated_at forward (by a millisecond when the clock has not), so it is a version.
     *
     * @param expectedUpdated the row's updated_at as read, or null to write unconditionally
     * @throws StaleNodeException when the row changed since (nothing is written)
     */
    public TailnetNode update(TailnetNode node, KeyUse spend, Instant expectedUpdated) {
        return store.write("update node " + node.id(), h -> {
            if (spend != null) PreAuthKeys.spend(h, spend);
            String updated = store.isPostgres()
                    ? "CASE WHEN updated_at >= :updated THEN updated_at + 1 ELSE :updated END" : ":updated";
            var u = h.createUpdate("UPDATE nodes SET node_key = :node_key, disco_key = :disco_key, hostname = :hostname,"
                    + " given_name = :given_name, user_id = :user_id, ipv4 = :ipv4, ipv6 = :ipv6, hostinfo = :hostinfo,"
                    + " endpoints = :endpoints, tags = :tags, approved_routes = :approved_routes, auth_key_id = :auth_key_id,"
                    + " ephemeral = :ephemeral, expiry = :expiry, last_seen = :last_seen, register_method = :register_method,"
                    + " updated_at = " + updated + " WHERE id = :id" + (expectedUpdated == null ? "" : " AND updated_at = :expected"));
            bindMutable(u, node).bind("updated", Store.millis(store.now())).bind("id", node.id());
            if (expectedUpdated != null) u.bind("expected", Store.millis(expectedUpdated));
            if (u.execute() == 0) {
                if (expectedUpdated != null && get(h, node.id()).isPresent()) throw new StaleNodeException(node.id());
                throw new NotFoundException("no node with id " + node.id());
            }
            store.changes().append(h, ChangeLog.Kind.NODE, node.id());
            return get(h, node.id()).orElseThrow();
        });
    }

    /** Deletes a node and returns it (so the caller can release its addresses), or empty if it did not exist. */
    public Optional<TailnetNode> delete(long id) {
        return store.write("delete node " + id, h -> {
            Optional<TailnetNode> n = get(h, id);
            if (n.isPresent()) {
                h.createUpdate("DELETE FROM nodes WHERE id = :id").bind("id", id).execute();
                store.changes().append(h, ChangeLog.Kind.NODE, id);
            }
            return n;
        });
    }

    public Optional<TailnetNode> get(long id) {
        return store.read(h -> get(h, id));
    }

    /** The machine's nodes (one per user, as in Headscale, and at most one tagged), in id order. */
    public List<TailnetNode> byMachineKey(MachinePublicKey key) {
        return store.read(h -> h.createQuery("SELECT " + COLUMNS + " FROM nodes WHERE machine_key = :v ORDER BY id")
                .bind("v", key.toString()).map((rs, ctx) -> map(rs)).list());
    }

    /** The ids of the nodes whose given name is {@code label} or {@code label-SOMETHING} (the collision names). */
    public List<Long> idsByGivenNameLabel(String label) {
        String like = label.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%";
        return store.read(h -> h.createQuery("SELECT id FROM nodes WHERE given_name = :l OR given_name LIKE :p ESCAPE '\\'")
                .bind("l", label).bind("p", like).mapTo(Long.class).list());
    }

    public Optional<TailnetNode> byNodeKey(NodePublicKey key) {
        return store.read(h -> one(h, "node_key", key.toString()));
    }

    public List<TailnetNode> list() {
        return store.read(h -> h.createQuery("SELECT " + COLUMNS + " FROM nodes ORDER BY id").map((rs, ctx) -> map(rs)).list());
    }

    public List<TailnetNode> listByUser(long userId) {
        return store.read(h -> h.createQuery("SELECT " + COLUMNS + " FROM nodes WHERE user_id = :u ORDER BY id")
                .bind("u", userId).map((rs, ctx) -> map(rs)).list());
    }

    private static <S extends SqlStatement<S>> S bindMutable(S s, TailnetNode n) {
        return s.bind("node_key", n.nodeKey().toString())
                .bind("disco_key", n.discoKey() == null ? null : n.discoKey().toString())
                .bind("hostname", n.hostname())
                .bind("given_name", n.givenName())
                .bind("user_id", n.userId())
                .bind("ipv4", n.ipv4() == null ? null : IpPrefix.format(n.ipv4()))
                .bind("ipv6", n.ipv6() == null ? null : IpPrefix.format(n.ipv6()))
                .bind("hostinfo", n.hostinfo() == null ? null : Tailcfg.json().writeValueAsString(n.hostinfo()))
                .bind("endpoints", JsonLists.encode(n.endpoints().stream().map(AddrPort::toString).toList()))
                .bind("tags", JsonLists.encode(n.tags().names()))
                .bind("approved_routes", JsonLists.encode(n.approvedRoutes().stream().map(IpPrefix::toString).toList()))
                .bind("auth_key_id", n.authKeyId())
                .bind("ephemeral", n.ephemeral())
                .bind("expiry", Store.millis(n.expiry()))
                .bind("last_seen", Store.millis(n.lastSeen()))
                .bind("register_method", n.registerMethod().stored());
    }

    static Optional<TailnetNode> get(Handle h, long id) {
        return h.createQuery("SELECT " + COLUMNS + " FROM nodes WHERE id = :v").bind("v", id).map((rs, ctx) -> map(rs)).findOne();
    }

    private static Optional<TailnetNode> one(Handle h, String column, String value) {
        return h.createQuery("SELECT " + COLUMNS + " FROM nodes WHERE " + column + " = :v")
                .bind("v", value).map((rs, ctx) -> map(rs)).findOne();
    }

    /** Every address in use, for the allocator's start-up scan. */
    public List<InetAddress> allAddresses() {
        return store.read(h -> h.createQuery("SELECT ipv4, ipv6 FROM nodes").map((rs, ctx) -> {
            String v4 = rs.getString("ipv4");
            String v6 = rs.getString("ipv6");
            return new String[] {v4, v6};
        }).list().stream().flatMap(java.util.Arrays::stream).filter(java.util.Objects::nonNull)
                .map(IpPrefix::parseAddress).toList());
    }

    static TailnetNode map(ResultSet rs) throws SQLException {
        long id = rs.getLong("id");
        String disco = rs.getString("disco_key");
        String v4 = rs.getString("ipv4");
        String v6 = rs.getString("ipv6");
        NodeTags tags;
        try {
            tags = NodeTags.of(JsonLists.decode(rs.getString("tags"), "nodes.tags"));
        } catch (IllegalArgumentException e) {
            throw new StoreException("column nodes.tags of node " + id + ": " + e.getMessage());
        }
        return new TailnetNode(
                id,
                MachinePublicKey.parse(rs.getString("machine_key")),
                NodePublicKey.parse(rs.getString("node_key")),
                disco == null ? null : DiscoPublicKey.parse(disco),
                rs.getString("hostname"),
                rs.getString("given_name"),
                Store.nullableLong(rs, "user_id"),
                v4 == null ? null : (Inet4Address) IpPrefix.parseAddress(v4),
                v6 == null ? null : (Inet6Address) IpPrefix.parseAddress(v6),
                hostinfo(id, rs.getString("hostinfo")),
                endpoints(id, JsonLists.decode(rs.getString("endpoints"), "nodes.endpoints")),
                tags,
                JsonLists.decode(rs.getString("approved_routes"), "nodes.approved_routes").stream().map(IpPrefix::parse).toList(),
                Store.nullableLong(rs, "auth_key_id"),
                rs.getBoolean("ephemeral"),
                Store.instant(rs, "expiry"),
                Store.instant(rs, "last_seen"),
                RegisterMethod.ofStored(rs.getString("register_method")),
                Store.instant(rs, "created_at"),
                Store.instant(rs, "updated_at"));
    }

    /**
     * The stored Hostinfo JSON, unknown fields included. What every writer stored parses; one that does not (edited
     * by hand, or a field whose type a later version checks) is dropped with a warning rather than keeping the
     * tailnet from loading: the client sends its Hostinfo again with its next map request.
     */
    private static Hostinfo hostinfo(long id, String json) {
        if (json == null || json.isEmpty()) return null;
        try {
            return Tailcfg.json().readValue(json, Hostinfo.class);
        } catch (RuntimeException e) {
            log.warn("node {}: stored Hostinfo does not parse, ignored until the client reports it again: {}", id,
                    e instanceof JacksonException j ? j.getOriginalMessage() : e.getMessage());
            return null;
        }
    }

    /** Stored endpoints; one that does not parse is dropped (they are replaced at the node's next map request). */
    private static List<AddrPort> endpoints(long id, List<String> stored) {
        List<AddrPort> out = new ArrayList<>(stored.size());
        for (String e : stored) {
            try {
                out.add(AddrPort.parse(e));
            } catch (IllegalArgumentException ex) {
                log.warn("node {}: stored endpoint does not parse, ignored: {}", id, ex.getMessage());
            }
        }
        return out;
    }
}
