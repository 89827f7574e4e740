package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every storage backend must do. Subclasses open the backend; the same tests run against SQLite and
 * PostgreSQL.
 */
abstract class StoreContract {
    static final Instant T0 = Instant.parse("2026-01-02T03:04:05.678Z");

    MutableClock clock;
    Store store;

    /** A fresh, empty store using {@code clock}. */
    abstract Store open(MutableClock clock);

    /** The same database again (after {@link Store#close()}). */
    abstract Store reopen(MutableClock clock);

    @BeforeEach
    void openStore() {
        clock = new MutableClock(T0);
        store = open(clock);
    }

    @AfterEach
    void closeStore() {
        if (store != null) store.close();
    }

    static MachinePublicKey machineKey() {
        return MachinePrivateKey.generate().publicKey();
    }

    static NodePublicKey nodeKey() {
        return NodePrivateKey.generate().publicKey();
    }

    static DiscoPublicKey discoKey() {
        return DiscoPrivateKey.generate().publicKey();
    }

    static Inet4Address v4(String s) {
        return (Inet4Address) IpPrefix.parseAddress(s);
    }

    static Inet6Address v6(String s) {
        return (Inet6Address) IpPrefix.parseAddress(s);
    }

    /** A new node's builder: fresh keys, {@code name} as hostname and given name, owned by {@code userId}. */
    static TailnetNode.Builder draft(String name, Long userId) {
        return TailnetNode.builder().machineKey(machineKey()).nodeKey(nodeKey()).hostname(name).givenName(name)
                .userId(userId);
    }

    static Hostinfo hostinfo(String json) {
        return Tailcfg.json().readValue(json, Hostinfo.class);
    }

    TailnetNode newNode(Long userId, String name, int n) {
        return store.nodes().create(draft(name, userId)
                .addresses(v4("100.64.0." + n), v6("fd7a:115c:a1e0::" + Integer.toHexString(n))).build());
    }

    // --- schema ---

    @Test
    void aDatabaseANewerReleaseUpgradedIsRefusedAndLeftAsItIs() {
        store.users().create("alice", "", "");
        store.write("a newer release's migration", h -> h.execute("INSERT INTO flyway_schema_history (installed_rank, version,"
                + " description, type, script, checksum, installed_by, installed_on, execution_time, success)"
                + " VALUES (99, '99', 'from the future', 'SQL', 'V99__from_the_future.sql', 0, 'test', CURRENT_TIMESTAMP, 0, TRUE)"));
        store.close();
        store = null;

        for (int attempt = 0; attempt < 2; attempt++) {
            assertThatThrownBy(() -> reopen(clock)).isInstanceOf(StoreException.class)
                    .hasMessageContaining("schema is at version 99, newer than this lattice-control knows (up to 6)");
        }
    }

    @Test
    void aMachineHoldsOneNodePerUserAndAnyNumberOfTaggedOnes() {
        long alice = store.users().create("alice", "", "").id();
        long bob = store.users().create("bob", "", "").id();
        MachinePublicKey mk = machineKey();
        TailnetNode a = store.nodes().create(draft("laptop", alice).machineKey(mk).build());
        TailnetNode b = store.nodes().create(draft("laptop-1", bob).machineKey(mk).build());
        assertThatThrownBy(() -> store.nodes().create(draft("laptop-2", alice).machineKey(mk).build()))
                .isInstanceOfSatisfying(ConflictException.class, e -> assertThat(e.column()).isEqualTo("machine_key"));
        // Tagged nodes have no user; keeping one per machine is the registrations' job (the database cannot say it).
        TailnetNode t = store.nodes().create(draft("laptop-3", null).machineKey(mk).tags(NodeTags.of(List.of("tag:server"))).build());
        assertThat(store.nodes().byMachineKey(mk)).extracting(TailnetNode::id).containsExactly(a.id(), b.id(), t.id());
        assertThat(store.nodes().byMachineKey(machineKey())).isEmpty();
    }

    // --- users ---

    @Test
    void usersFromAnIdentityProviderAreFoundByTheirIdentityAndFollowTheirClaims() {
        store.users().create("alice", "Local Alice", "");
        String id = "https://sso.example/realms/corp/1234";
        // "alice" is taken by a local user: the email is the next name to try.
        User u = store.users().upsertFromProvider("oidc", id, List.of("alice", "alice@example.com", "oidc-1a2b3c4d"),
                "Alice Liddell", "alice@example.com", "https://example.com/a.png", List.of("eng", "ops"));
        assertThat(u.name()).isEqualTo("alice@example.com");
        assertThat(u.providerId()).isEqualTo(id);
        assertThat(u.profilePicUrl()).isEqualTo("https://example.com/a.png");
        assertThat(u.groups()).containsExactly("eng", "ops");
        assertThat(store.users().byProviderId(id)).contains(u);

        // The next login updates the claims but keeps the user (and its name).
        User again = store.users().upsertFromProvider("oidc", id, List.of("alice2"), "Alice L.", "alice@example.com", "",
                List.of("ops"));
        assertThat(again.id()).isEqualTo(u.id());
        assertThat(again.name()).isEqualTo("alice@example.com");
        assertThat(again.displayName()).isEqualTo("Alice L.");
        assertThat(again.groups()).containsExactly("ops");
        assertThat(again.profilePicUrl()).isEmpty();
        assertThat(store.users().list()).hasSize(2);

        assertThatThrownBy(() -> store.users().upsertFromProvider("oidc", "https://sso.example/other", List.of("alice"), "", "",
                "", List.of())).isInstanceOf(ConflictException.class);
    }

    @Test
    void usersAreCreatedListedRenamedAndFound() {
        User alice = store.users().create("alice", "Alice A", "alice@example.com");
        User bob = store.users().create("bob", "", "", "oidc", "sub-123");
        assertThat(alice.id()).isPositive();
        assertThat(alice.created()).isEqualTo(T0);
        assertThat(alice).isEqualTo(new User(alice.id(), "alice", "Alice A", "alice@example.com", "", null, T0));
        assertThat(bob.provider()).isEqualTo("oidc");
        assertThat(bob.providerId()).isEqualTo("sub-123");
        assertThat(store.users().get(alice.id())).contains(alice);
        assertThat(store.users().byName("bob")).contains(bob);
        assertThat(store.users().byName("carol")).isEmpty();
        assertThat(store.users().get(9999)).isEmpty();
        assertThat(store.users().list()).containsExactly(alice, bob);

        User renamed = store.users().rename(alice.id(), "alice2");
        assertThat(renamed.name()).isEqualTo("alice2");
        assertThat(store.users().byName("alice")).isEmpty();
        assertThatThrownBy(() -> store.users().rename(4242, "x")).isInstanceOf(NotFoundException.class);
    }

    @Test
    void userNamesAreUnique() {
        store.users().create("alice", "", "");
        User bob = store.users().create("bob", "", "");
        assertThatThrownBy(() -> store.users().create("alice", "", ""))
                .isInstanceOf(ConflictException.class).hasMessageContaining("alice").hasMessageContaining("name already in use");
        assertThatThrownBy(() -> store.users().rename(bob.id(), "alice")).isInstanceOf(ConflictException.class);
        assertThatThrownBy(() -> store.users().create(" ", "", "")).isInstanceOf(IllegalArgumentException.class);
        assertThat(store.users().list()).hasSize(2);
    }

    @Test
    void deletingAUserWithNodesIsRefusedUnlessForced() {
        User alice = store.users().create("alice", "", "");
        User bob = store.users().create("bob", "", "");
        TailnetNode n1 = newNode(alice.id(), "laptop", 1);
        newNode(alice.id(), "phone", 2);
        TailnetNode other = newNode(bob.id(), "server", 3);
        store.preAuthKeys().create(alice.id(), false, false, List.of(), null);

        assertThatThrownBy(() -> store.users().delete(alice.id(), false))
                .isInstanceOfSatisfying(UserHasNodesException.class, e -> assertThat(e.nodeCount()).isEqualTo(2))
                .hasMessageContaining("alice");
        assertThat(store.nodes().get(n1.id())).isPresent();

        assertThat(store.users().delete(alice.id(), true)).isTrue();
        assertThat(store.users().get(alice.id())).isEmpty();
        assertThat(store.nodes().listByUser(alice.id())).isEmpty();
        assertThat(store.preAuthKeys().list()).isEmpty();
        assertThat(store.nodes().list()).containsExactly(other);
        assertThat(store.users().delete(alice.id(), true)).isFalse();

        User empty = store.users().create("carol", "", "");
        assertThat(store.users().delete(empty.id(), false)).isTrue();
    }

    // --- nodes ---

    @Test
    void aNodeRoundTripsEveryField() {
        User alice = store.users().create("alice", "", "");
        var key = store.preAuthKeys().create(alice.id(), true, true, List.of(), null).key();
        MachinePublicKey mk = machineKey();
        NodePublicKey nk = nodeKey();
        DiscoPublicKey dk = discoKey();
        TailnetNode draft = new TailnetNode(0, mk, nk, dk, "Alice's MacBook", "alices-macbook", alice.id(), v4("100.64.0.7"),
                v6("fd7a:115c:a1e0::7"), hostinfo("{\"OS\":\"linux\",\"Hostname\":\"x\"}"),
                List.of(AddrPort.parse("192.0.2.1:41641"), AddrPort.parse("[2001:db8::1]:41641")), NodeTags.of("tag:server"),
                List.of(IpPrefix.parse("10.0.0.0/24"), IpPrefix.parse("::/0")), key.id(), true,
                T0.plus(Duration.ofDays(180)), T0.minusSeconds(5), RegisterMethod.AUTH_KEY, null, null);

        TailnetNode stored = store.nodes().create(draft);

        assertThat(stored.id()).isPositive();
        assertThat(stored.created()).isEqualTo(T0);
        assertThat(stored.updated()).isEqualTo(T0);
        assertThat(stored).usingRecursiveComparison().ignoringFields("id", "created", "updated").isEqualTo(draft);
        assertThat(store.nodes().get(stored.id())).contains(stored);
        assertThat(store.nodes().byMachineKey(mk)).contains(stored);
        assertThat(store.nodes().byNodeKey(nk)).contains(stored);
        assertThat(store.nodes().byNodeKey(nodeKey())).isEmpty();
        assertThat(store.nodes().list()).containsExactly(stored);
        assertThat(store.nodes().listByUser(alice.id())).containsExactly(stored);
        assertThat(store.nodes().allAddresses()).containsExactlyInAnyOrder(v4("100.64.0.7"), v6("fd7a:115c:a1e0::7"));
    }

    @Test
    void nodesAreUpdatedFieldByField() {
        User alice = store.users().create("alice", "", "");
        User bob = store.users().create("bob", "", "");
        TailnetNode n = newNode(alice.id(), "laptop", 1);
        clock.advance(Duration.ofMinutes(1));

        NodePublicKey rotated = nodeKey();
        DiscoPublicKey disco = discoKey();
        Instant expiry = T0.plus(Duration.ofDays(1));
        TailnetNode changed = n.toBuilder()
                .nodeKey(rotated)
                .discoKey(disco)
                .hostname("laptop2")
                .hostinfo(hostinfo("{\"OS\":\"macOS\"}"))
                .endpoints(List.of(AddrPort.parse("198.51.100.2:1234")))
                .expiry(expiry)
                .tags(NodeTags.of("tag:a", "tag:b"))
                .approvedRoutes(List.of(IpPrefix.parse("192.168.0.0/16")))
                .givenName("laptop-2")
                .lastSeen(T0.plusSeconds(30))
                .userId(bob.id())
                .build();
        TailnetNode stored = store.nodes().update(changed);

        assertThat(stored).usingRecursiveComparison().ignoringFields("updated").isEqualTo(changed);
        assertThat(stored.updated()).isEqualTo(T0.plus(Duration.ofMinutes(1)));
        assertThat(stored.created()).isEqualTo(T0);
        assertThat(store.nodes().byNodeKey(rotated)).contains(stored);
        assertThat(store.nodes().byNodeKey(n.nodeKey())).isEmpty();
        assertThat(store.nodes().listByUser(bob.id())).containsExactly(stored);

        TailnetNode cleared = store.nodes().update(stored.toBuilder().discoKey(null).expiry(null).userId(null)
                .tags(NodeTags.of("tag:only")).build());
        assertThat(cleared.discoKey()).isNull();
        assertThat(cleared.expiry()).isNull();
        assertThat(cleared.userId()).isNull();
        assertThat(cleared.isTagged()).isTrue();

        TailnetNode ghost = new TailnetNode(4242, machineKey(), nodeKey(), null, "", "nobody", null, null, null, null, null, null,
                null, null, false, null, null, null, null, null);
        assertThatThrownBy(() -> store.nodes().update(ghost)).isInstanceOf(NotFoundException.class);
    }

    @Test
    void hostinfoIsStoredAsTheClientsJsonWithFieldsThisVersionDoesNotKnow() {
        User alice = store.users().create("alice", "", "");
        String json = "{\"Hostname\":\"laptop\",\"OS\":\"linux\",\"RoutableIPs\":[\"10.1.0.0/16\"],"
                + "\"NetInfo\":{\"PreferredDERP\":7,\"FutureNetField\":\"x\"},\"FutureField\":{\"a\":[1,2.5,null]}}";
        TailnetNode n = store.nodes().create(draft("laptop", alice.id()).hostinfo(hostinfo(json))
                .endpoints(List.of(AddrPort.parse("192.0.2.1:41641"), AddrPort.parse("[fe80::1%eth0]:41641"))).build());

        assertThat(column(n.id(), "hostinfo")).isEqualTo(json);
        assertThat(column(n.id(), "endpoints")).isEqualTo("[\"192.0.2.1:41641\",\"[fe80::1%eth0]:41641\"]");
        TailnetNode read = store.nodes().get(n.id()).orElseThrow();
        assertThat(read).isEqualTo(n);
        assertThat(read.hostinfo().get("FutureField")).hasToString("{\"a\":[1,2.5,null]}");
        assertThat(read.hostinfo().netInfo().preferredDerp()).isEqualTo(7);
        assertThat(read.announcedRoutes()).containsExactly(IpPrefix.parse("10.1.0.0/16"));
        // Written back unchanged by an update of another field.
        store.nodes().update(read.toBuilder().givenName("laptop-2").build());
        assertThat(column(n.id(), "hostinfo")).isEqualTo(json);
    }

    @Test
    void storedClientReportsThatNoLongerParseAreDroppedNotFatal() {
        User alice = store.users().create("alice", "", "");
        TailnetNode n = store.nodes().create(draft("laptop", alice.id()).build());
        setColumn(n.id(), "hostinfo", "{\"Hostname\":5}");
        setColumn(n.id(), "endpoints", "[\"192.0.2.1:41641\",\"not an endpoint\"]");
        TailnetNode read = store.nodes().get(n.id()).orElseThrow();
        assertThat(read.hostinfo()).isNull();
        assertThat(read.endpoints()).containsExactly(AddrPort.parse("192.0.2.1:41641"));
        assertThat(read.givenName()).isEqualTo("laptop");

        // Tags are the node's owner: a bad one is not guessed away.
        setColumn(n.id(), "tags", "[\"server\"]");
        assertThatThrownBy(() -> store.nodes().get(n.id())).isInstanceOf(StoreException.class)
                .hasMessageContaining("nodes.tags").hasMessageContaining("server");
    }

    private String column(long nodeId, String column) {
        return store.read(h -> h.createQuery("SELECT " + column + " FROM nodes WHERE id = :id").bind("id", nodeId)
                .mapTo(String.class).one());
    }

    private void setColumn(long nodeId, String column, String value) {
        store.write("test", h -> h.createUpdate("UPDATE nodes SET " + column + " = :v WHERE id = :id").bind("v", value)
                .bind("id", nodeId).execute());
    }

    @Test
    void uniqueColumnsAreEnforcedWithTheColumnNamed() {
        User alice = store.users().create("alice", "", "");
        TailnetNode n = newNode(alice.id(), "laptop", 1);
        assertThatThrownBy(() -> store.nodes().create(draft("x", alice.id()).machineKey(n.machineKey()).build()))
                .isInstanceOf(ConflictException.class).hasMessageContaining("machine key");
        assertThatThrownBy(() -> store.nodes().create(draft("x", alice.id()).nodeKey(n.nodeKey()).build()))
                .isInstanceOf(ConflictException.class).hasMessageContaining("node key");
        assertThatThrownBy(() -> store.nodes().create(draft("x", alice.id()).givenName("laptop").build()))
                .isInstanceOf(ConflictException.class).hasMessageContaining("given name");
        assertThatThrownBy(() -> store.nodes().create(draft("x", alice.id()).ipv4(n.ipv4()).build()))
                .isInstanceOf(ConflictException.class).hasMessageContaining("ipv4");
        assertThatThrownBy(() -> store.nodes().create(draft("x", alice.id()).ipv6(n.ipv6()).build()))
                .isInstanceOf(ConflictException.class).hasMessageContaining("ipv6");
        assertThatThrownBy(() -> store.nodes().create(draft("x", 777L).build()))
                .isInstanceOf(NotFoundException.class);
        // Nodes without addresses of a family may coexist (NULLs are not equal).
        store.nodes().create(draft("a", alice.id()).build());
        store.nodes().create(draft("b", alice.id()).build());
        assertThat(store.nodes().list()).hasSize(3);
    }

    @Test
    void deletingANodeReturnsItAndFreesItsKeysAndName() {
        User alice = store.users().create("alice", "", "");
        TailnetNode n = newNode(alice.id(), "laptop", 1);
        assertThat(store.nodes().delete(n.id())).contains(n);
        assertThat(store.nodes().delete(n.id())).isEmpty();
        assertThat(store.nodes().get(n.id())).isEmpty();
        TailnetNode again = store.nodes().create(draft("laptop", alice.id()).machineKey(n.machineKey()).nodeKey(n.nodeKey())
                .addresses(n.ipv4(), n.ipv6()).build());
        assertThat(again.id()).as("ids are never reused").isGreaterThan(n.id());
    }

    @Test
    void deletingAnAuthKeyKeepsItsNodes() {
        User alice = store.users().create("alice", "", "");
        var key = store.preAuthKeys().create(alice.id(), false, false, List.of(), null).key();
        TailnetNode n = store.nodes().create(draft("x", alice.id()).authKeyId(key.id())
                .registerMethod(RegisterMethod.AUTH_KEY).build());
        assertThat(n.authKeyId()).isEqualTo(key.id());
        assertThat(store.preAuthKeys().delete(key.id())).isTrue();
        assertThat(store.nodes().get(n.id()).orElseThrow().authKeyId()).isNull();
    }

    // --- pre-auth keys ---

    @Test
    void preAuthKeysAreShownOnceAndStoredAsPrefixAndHash() {
        User alice = store.users().create("alice", "", "");
        NewKey<PreAuthKey> created = store.preAuthKeys().create(alice.id(), false, true, List.of("tag:ci"), T0.plus(Duration.ofHours(1)));
        assertThat(created.fullKey()).matches("lattice-auth-[A-Za-z0-9_-]{12}-[A-Za-z0-9_-]{64}");
        assertThat(created.toString()).doesNotContain(created.fullKey().substring(26));
        PreAuthKey k = created.key();
        assertThat(k).isEqualTo(new PreAuthKey(k.id(), created.fullKey().substring(13, 25), alice.id(), false, true, false,
                List.of("tag:ci"), T0.plus(Duration.ofHours(1)), T0));
        assertThat(k.display()).isEqualTo("lattice-auth-" + k.prefix() + "-***");
        assertThat(store.preAuthKeys().get(k.id())).contains(k);
        assertThat(store.preAuthKeys().list()).containsExactly(k);
        assertThat(store.preAuthKeys().listByUser(alice.id())).containsExactly(k);
        assertThat(store.preAuthKeys().listByUser(alice.id() + 1)).isEmpty();

        PreAuthKey tagOnly = store.preAuthKeys().create(null, true, false, List.of("tag:server"), null).key();
        assertThat(tagOnly.userId()).isNull();
        assertThatThrownBy(() -> store.preAuthKeys().create(null, true, false, List.of(), null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.preAuthKeys().create(alice.id(), true, false, List.of("server"), null))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aSingleUseKeyIsSpentByTheTransactionThatStoresItsNode() {
        User alice = store.users().create("alice", "", "");
        NewKey<PreAuthKey> k = store.preAuthKeys().create(alice.id(), false, false, List.of(), null);
        PreAuthKey found = store.preAuthKeys().find(k.fullKey());
        assertThat(found).isEqualTo(k.key());
        found.requireUsable(T0);
        assertThat(KeyUse.of(found)).contains(new KeyUse(found.id()));

        TailnetNode n = store.nodes().create(draft("a", alice.id()).authKeyId(found.id())
                .registerMethod(RegisterMethod.AUTH_KEY).build(), new KeyUse(found.id()));
        PreAuthKey spent = store.preAuthKeys().find(k.fullKey());
        assertThat(spent.used()).isTrue();
        assertReason(() -> spent.requireUsable(T0), AuthKeyException.Reason.ALREADY_USED);

        // A second node with the same key: refused, and the refused transaction leaves nothing behind.
        assertReason(() -> store.nodes().create(draft("b", alice.id()).build(),
                new KeyUse(found.id())), AuthKeyException.Reason.ALREADY_USED);
        assertReason(() -> store.nodes().update(n.toBuilder().hostname("changed").hostinfo(null).build(), new KeyUse(found.id())),
                AuthKeyException.Reason.ALREADY_USED);
        assertThat(store.nodes().list()).containsExactly(n);

        // Spent on re-registration of an existing node, too.
        NewKey<PreAuthKey> k2 = store.preAuthKeys().create(alice.id(), false, false, List.of(), null);
        TailnetNode again = store.nodes().update(n.toBuilder().authKeyId(k2.key().id())
                .registerMethod(RegisterMethod.AUTH_KEY).build(), new KeyUse(k2.key().id()));
        assertThat(again.authKeyId()).isEqualTo(k2.key().id());
        assertThat(store.preAuthKeys().get(k2.key().id()).orElseThrow().used()).isTrue();
    }

    @Test
    void aNodeWriteThatFailsSpendsNoKey() {
        User alice = store.users().create("alice", "", "");
        TailnetNode taken = newNode(alice.id(), "taken", 1);
        NewKey<PreAuthKey> k = store.preAuthKeys().create(alice.id(), false, false, List.of(), null);
        assertThatThrownBy(() -> store.nodes().create(draft("x", alice.id()).machineKey(taken.machineKey()).build(),
                new KeyUse(k.key().id()))).isInstanceOf(ConflictException.class);
        assertThat(store.preAuthKeys().get(k.key().id()).orElseThrow().used()).isFalse();
    }

    @Test
    void findingAKeyWritesNothing() {
        User alice = store.users().create("alice", "", "");
        NewKey<PreAuthKey> k = store.preAuthKeys().create(alice.id(), false, false, List.of(), null);
        long writes = store.writeTransactions();
        store.preAuthKeys().find(k.fullKey());
        assertReason(() -> store.preAuthKeys().find(k.fullKey() + "x"), AuthKeyException.Reason.UNKNOWN);
        assertThat(store.writeTransactions()).isEqualTo(writes);
    }

    @Test
    void reusableKeysWorkUntilTheyExpire() {
        User alice = store.users().create("alice", "", "");
        NewKey<PreAuthKey> k = store.preAuthKeys().create(alice.id(), true, false, List.of(), T0.plusSeconds(60));
        assertThat(KeyUse.of(k.key())).as("a reusable key is never spent").isEmpty();
        for (int i = 0; i < 3; i++) store.preAuthKeys().find(k.fullKey()).requireUsable(T0.plusSeconds(i));
        assertReason(() -> store.preAuthKeys().find(k.fullKey()).requireUsable(T0.plusSeconds(60)), AuthKeyException.Reason.EXPIRED);

        NewKey<PreAuthKey> k2 = store.preAuthKeys().create(alice.id(), true, false, List.of(), null);
        assertThat(store.preAuthKeys().expire(k2.key().id(), T0)).isTrue();
        assertReason(() -> store.preAuthKeys().find(k2.fullKey()).requireUsable(T0), AuthKeyException.Reason.EXPIRED);
        assertThat(store.preAuthKeys().expire(999_999, T0)).isFalse();
    }

    @Test
    void unknownAndForgedKeysAreRejectedAlike() {
        User alice = store.users().create("alice", "", "");
        NewKey<PreAuthKey> k = store.preAuthKeys().create(alice.id(), true, false, List.of(), null);
        String full = k.fullKey();
        char last = full.charAt(full.length() - 1);
        String wrongSecret = full.substring(0, full.length() - 1) + (last == 'A' ? 'B' : 'A');
        String wrongPrefix = "lattice-auth-" + "x".repeat(12) + full.substring(25);
        for (String bad : new String[] {wrongSecret, wrongPrefix, "", "tskey-auth-abc", full + "x", full.substring(1),
                "hskey-auth-" + full.substring(13), full.replace("lattice-auth-", "lattice-api-")}) {
            assertReason(() -> store.preAuthKeys().find(bad), AuthKeyException.Reason.UNKNOWN);
        }
        assertReason(() -> store.preAuthKeys().find(null), AuthKeyException.Reason.UNKNOWN);
    }

    @Test
    void racingRegistrationsCannotBothUseASingleUseKey() throws Exception {
        User alice = store.users().create("alice", "", "");
        for (int round = 0; round < 5; round++) {
            NewKey<PreAuthKey> k = store.preAuthKeys().create(alice.id(), false, false, List.of(), null);
            ExecutorService pool = Executors.newFixedThreadPool(6);
            try {
                List<Future<Boolean>> fs = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    String name = "r" + round + "-" + i;
                    fs.add(pool.submit((Callable<Boolean>) () -> {
                        try {
                            // Each racer has seen the key unused, as registrations that checked it at the same time.
                            store.preAuthKeys().find(k.fullKey()).requireUsable(T0);
                            store.nodes().create(draft(name, alice.id()).authKeyId(k.key().id())
                                    .registerMethod(RegisterMethod.AUTH_KEY).build(), new KeyUse(k.key().id()));
                            return true;
                        } catch (AuthKeyException e) {
                            assertThat(e.reason()).isEqualTo(AuthKeyException.Reason.ALREADY_USED);
                            return false;
                        }
                    }));
                }
                int wins = 0;
                for (Future<Boolean> f : fs) if (f.get()) wins++;
                assertThat(wins).isEqualTo(1);
                assertThat(store.nodes().list()).filteredOn(n -> Long.valueOf(k.key().id()).equals(n.authKeyId())).hasSize(1);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    static void assertReason(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, AuthKeyException.Reason reason) {
        assertThatThrownBy(call).isInstanceOfSatisfying(AuthKeyException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }

    // --- API keys ---

    @Test
    void apiKeysVerifyExpireAndDelete() {
        NewKey<ApiKey> k = store.apiKeys().create(T0.plus(Duration.ofDays(90)));
        assertThat(k.fullKey()).matches("lattice-api-[A-Za-z0-9_-]{12}-[A-Za-z0-9_-]{64}");
        assertThat(k.key().lastSeen()).isNull();
        assertThat(k.key().display()).isEqualTo("lattice-api-" + k.key().prefix() + "-***");

        ApiKey seen = store.apiKeys().verify(k.fullKey(), T0.plusSeconds(10));
        assertThat(seen.lastSeen()).isEqualTo(T0.plusSeconds(10));
        assertThat(store.apiKeys().list()).containsExactly(seen);
        assertReason(() -> store.apiKeys().verify(k.fullKey().replace("lattice-api-", "lattice-auth"), T0), AuthKeyException.Reason.UNKNOWN);
        assertReason(() -> store.apiKeys().verify(k.fullKey(), T0.plus(Duration.ofDays(90))), AuthKeyException.Reason.EXPIRED);

        NewKey<ApiKey> k2 = store.apiKeys().create(null);
        assertThat(store.apiKeys().expire(k2.key().id(), T0)).isTrue();
        assertReason(() -> store.apiKeys().verify(k2.fullKey(), T0), AuthKeyException.Reason.EXPIRED);
        assertThat(store.apiKeys().delete(k2.key().id())).isTrue();
        assertThat(store.apiKeys().delete(k2.key().id())).isFalse();
        assertReason(() -> store.apiKeys().verify(k2.fullKey(), T0), AuthKeyException.Reason.UNKNOWN);
        assertThat(store.apiKeys().get(k.key().id())).contains(seen);
    }

    // --- policy ---

    @Test
    void theLatestPolicyWins() {
        assertThat(store.policy().get()).isEmpty();
        StoredPolicy p1 = store.policy().set("{ // comment kept\n \"acls\": [] }");
        assertThat(store.policy().get()).contains(p1);
        clock.advance(Duration.ofSeconds(1));
        StoredPolicy p2 = store.policy().set("{\"acls\": [{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}]}");
        assertThat(store.policy().get()).contains(p2);
        assertThat(p2.updated()).isEqualTo(T0.plusSeconds(1));
    }

    // --- durability ---

    @Test
    void everythingSurvivesReopening() {
        User alice = store.users().create("alice", "", "");
        TailnetNode n = newNode(alice.id(), "laptop", 1);
        NewKey<PreAuthKey> k = store.preAuthKeys().create(alice.id(), false, false, List.of(), null);
        StoredPolicy p = store.policy().set("{}");
        store.close();
        store = reopen(clock);
        assertThat(store.users().list()).containsExactly(alice);
        assertThat(store.nodes().list()).containsExactly(n);
        assertThat(store.policy().get()).contains(p);
        assertThat(store.preAuthKeys().find(k.fullKey())).isEqualTo(k.key());
        assertThat(store.integrityCheck()).isEqualTo("ok");
    }
}
