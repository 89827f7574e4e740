package dev.lattice.control.admin;

import dev.lattice.control.auth.PendingRegistration;
import dev.lattice.control.auth.Registrations;
import dev.lattice.control.auth.Tags;
import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.policy.CompiledPolicy;
import dev.lattice.control.policy.PolicyException;
import dev.lattice.control.policy.PolicyManager;
import dev.lattice.control.store.StoredPolicy;
import dev.lattice.control.netmap.TailcfgNodes;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.ApiKey;
import dev.lattice.control.store.AuthKeyException;
import dev.lattice.control.store.ConflictException;
import dev.lattice.control.store.DnsLabels;
import dev.lattice.control.store.NewKey;
import dev.lattice.control.store.NodeTags;
import dev.lattice.control.store.NotFoundException;
import dev.lattice.control.store.PreAuthKey;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.StoreException;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.control.store.UserHasNodesException;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Every admin operation, in Headscale's terms (its gRPC service, minus OIDC). Node mutations go through
 * the {@link Tailnet} so connected clients hear of them at once; user changes are followed by
 * {@link Tailnet#announceFull()} because user profiles are part of every netmap.
 *
 * <p>Wherever a user is named, a name or a numeric id is accepted: an exact name match wins, so a user literally
 * called {@code 42} stays reachable by name.
 *
 * <p>Failures are {@link AdminException}s with a gRPC-style code; storage exceptions are translated.
 */
public final class AdminApi {
    /** Exit-node routes are approved in pairs, as Headscale does: clients expect both. */
    private static final IpPrefix ALL_V4 = IpPrefix.parse("0.0.0.0/0");
    private static final IpPrefix ALL_V6 = IpPrefix.parse("::/0");

    private final Tailnet tailnet;
    private final Registrations registrations;
    private final TailcfgNodes nodes;
    private final PolicyManager policy;

    public AdminApi(Tailnet tailnet, Registrations registrations, TailcfgNodes nodes) {
        this(tailnet, registrations, nodes, null);
    }

    /** @param policy null when the server has no policy manager (no policy operations) */
    public AdminApi(Tailnet tailnet, Registrations registrations, TailcfgNodes nodes, PolicyManager policy) {
        this.tailnet = tailnet;
        this.registrations = registrations;
        this.nodes = nodes;
        this.policy = policy;
    }

    private volatile dev.lattice.control.sshcheck.SshActions sshChecks;

    /** Where {@code auth approve} and {@code auth reject} find Tailscale SSH checks (none until set). */
    public void sshChecks(dev.lattice.control.sshcheck.SshActions checks) {
        this.sshChecks = checks;
    }

    /** Headscale's user for tagged nodes, as its API shows them (they belong to the tailnet, not a user). */
    public static final User TAGGED_DEVICES = new User(TailcfgNodes.TAGGED_DEVICES_USER_ID, "tagged-devices",
            "Tagged Devices", "", "", null, null);

    /** Whether {@code name} passes Headscale's user name rule (as {@code users create} checks it). */
    public static boolean validUserName(String name) {
        try {
            AdminInput.userName(name);
            return true;
        } catch (AdminException e) {
            return false;
        }
    }

    /** The policy text and when it was last changed ({@code updated} null when unknown). */
    public record PolicyText(String policy, Instant updated) {}

    /** A node as the admin sees it: owner, online state, and routes (advertised, approved and actually served). */
    public record NodeInfo(TailnetNode node, User user, boolean online, boolean expired, List<IpPrefix> availableRoutes,
                           List<IpPrefix> servingRoutes, KeyInfo preAuthKey) {}

    /** A pre-auth key with its owner (null for tag-only keys). */
    public record KeyInfo(PreAuthKey key, User user) {}

    public record NewUser(String name, String displayName, String email) {}

    /** Filters for {@link #listUsers}; null fields do not filter. */
    public record UserFilter(Long id, String name, String email) {
        public static final UserFilter ALL = new UserFilter(null, null, null);
    }

    /**
     * @param user name or id; may be null for a tag-only key
     * @param expiration null = {@link #DEFAULT_PRE_AUTH_KEY_LIFETIME} from now
     */
    public record NewPreAuthKey(String user, boolean reusable, boolean ephemeral, Instant expiration, List<String> tags) {}

    /**
     * Lifetimes of keys created without an expiration, the CLI's defaults (Headscale's REST API stores the zero time
     * instead, which makes the key expired at once). Keys always expire.
     */
    public static final Duration DEFAULT_PRE_AUTH_KEY_LIFETIME = Duration.ofHours(1);
    public static final Duration DEFAULT_API_KEY_LIFETIME = Duration.ofDays(90);

    private Store store() {
        return tailnet.store();
    }

    public Instant now() {
        return tailnet.now();
    }

    // ---- users ----

    /** New names follow Headscale's rule ({@link AdminInput#userName}); names stored before it stay reachable. */
    public User createUser(NewUser req) {
        AdminInput.userName(req.name());
        if (req.displayName() != null) AdminInput.value("display name", req.displayName(), AdminInput.MAX_LABEL);
        if (req.email() != null) AdminInput.value("email", req.email(), AdminInput.MAX_LABEL);
        User u = call(() -> store().users().create(req.name(), req.displayName(), req.email()));
        tailnet.announceFull();
        return u;
    }

    public List<User> listUsers(UserFilter f) {
        return call(() -> store().users().list()).stream()
                .filter(u -> f.id() == null || f.id() == 0 || u.id() == f.id())
                .filter(u -> f.name() == null || f.name().isEmpty() || u.name().equals(f.name()))
                .filter(u -> f.email() == null || f.email().isEmpty() || u.email().equals(f.email()))
                .toList();
    }

    /** The user a name or numeric id refers to; NOT_FOUND names what was asked for. */
    public User resolveUser(String nameOrId) {
        if (nameOrId == null || nameOrId.isBlank()) throw AdminException.invalid("a user (name or id) is required");
        AdminInput.value("user", nameOrId);
        Optional<User> byName = call(() -> store().users().byName(nameOrId));
        if (byName.isPresent()) return byName.get();
        if (isNumber(nameOrId)) {
            Optional<User> byId = call(() -> store().users().get(Long.parseLong(nameOrId)));
            if (byId.isPresent()) return byId.get();
        }
        throw AdminException.notFound("user \"" + nameOrId + "\" not found");
    }

    public User user(long id) {
        return call(() -> store().users().get(id)).orElseThrow(() -> AdminException.notFound("user with id " + id + " not found"));
    }

    public User renameUser(long id, String newName) {
        if (newName == null || newName.isBlank()) throw AdminException.invalid("the new user name must not be empty");
        AdminInput.userName(newName);
        user(id);
        User u = call(() -> store().users().rename(id, newName));
        tailnet.announceFull();
        return u;
    }

    /** Deletes a user and their pre-auth keys; refused while the user owns nodes (as Headscale). */
    public void deleteUser(long id) {
        User u = user(id);
        boolean deleted;
        try {
            deleted = call(() -> store().users().delete(id, false));
        } catch (AdminException e) {
            if (e.getCause() instanceof UserHasNodesException h) {
                throw new AdminException(AdminException.Code.FAILED_PRECONDITION, "user \"" + u.name() + "\" still owns "
                        + h.nodeCount() + " node(s); delete them first (lattice-control nodes delete --identifier ID)");
            }
            throw e;
        }
        if (!deleted) throw AdminException.notFound("user with id " + id + " not found");
        tailnet.announceFull();
    }

    // ---- nodes ----

    /** All nodes, or only those owned by {@code user} (name or id) when it is not null/empty. */
    public List<NodeInfo> listNodes(String user) {
        Long owner = user == null || user.isEmpty() ? null : resolveUser(user).id();
        return tailnet.nodes().stream().filter(n -> owner == null || owner.equals(n.userId())).map(this::info).toList();
    }

    public NodeInfo node(long id) {
        return info(existing(id));
    }

    /**
     * Completes a pending interactive registration for {@code user}. {@code key} is either the client's node key
     * ({@code nodekey:...}, the legacy flow) or the auth id from its registration URL.
     */
    public NodeInfo registerNode(String user, String key) {
        if (key == null || key.isBlank()) throw AdminException.invalid("a key (nodekey:... or auth id) is required");
        User u = resolveUser(user);
        String authId;
        if (key.startsWith("nodekey:")) {
            NodePublicKey nk;
            try {
                nk = NodePublicKey.parse(key);
            } catch (IllegalArgumentException e) {
                throw AdminException.invalid("malformed node key");
            }
            authId = registrations.pendingByNodeKey(nk).map(PendingRegistration::authId)
                    .orElseThrow(() -> AdminException.notFound("no pending registration for that node key"
                            + " (it expires after 15 minutes; run tailscale up again)"));
        } else {
            authId = key;
        }
        return authRegister(authId, u.name());
    }

    /** Approves the interactive registration {@code authId} (from {@code /register/<authId>}) for {@code user}. */
    public NodeInfo authRegister(String authId, String user) {
        if (authId == null || authId.isBlank()) throw AdminException.invalid("an auth id is required");
        User u = resolveUser(user);
        TailnetNode n;
        try {
            n = call(() -> registrations.approve(authId, u));
        } catch (Tags.NotPermitted e) {
            throw AdminException.invalid(e.getMessage());
        } catch (AdminException e) {
            if (e.code() == AdminException.Code.INVALID_ARGUMENT) {
                throw AdminException.notFound("no pending registration with auth id " + authId
                        + " (it expires after 15 minutes; run tailscale up again)");
            }
            throw e;
        }
        return info(n);
    }

    private static final java.util.regex.Pattern AUTH_ID = java.util.regex.Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private static String authId(String authId) {
        if (authId == null || authId.isEmpty()) throw AdminException.invalid("an auth id is required");
        if (!AUTH_ID.matcher(authId).matches()) throw AdminException.invalid("invalid auth_id \"" + authId + "\"");
        return authId;
    }

    /**
     * Headscale's {@code auth approve}: finishes a pending auth session without a user. A Tailscale SSH check is let
     * through; a waiting registration needs a user, so it is answered with the command that completes it
     * ({@code auth register}).
     */
    public void authApprove(String authId) {
        String id = authId(authId);
        var checks = sshChecks;
        if (checks != null && checks.decide(id, true, "admin")) return;
        if (registrations.isPending(id)) {
            throw new AdminException(AdminException.Code.FAILED_PRECONDITION, "auth id " + id
                    + " is a node registration: complete it with 'auth register --auth-id " + id + " --user USER'");
        }
        throw AdminException.notFound("no pending auth session for auth_id " + id);
    }

    /**
     * Headscale's {@code auth reject}: the waiting registration's client gets "auth request rejected"; a waiting SSH
     * check is refused.
     */
    public void authReject(String authId) {
        String id = authId(authId);
        var checks = sshChecks;
        if (checks != null && checks.decide(id, false, "admin")) return;
        if (!registrations.reject(id)) throw AdminException.notFound("no pending auth session for auth_id " + id);
    }

    /**
     * Headscale's {@code debug create-node}: a registration for a made-up machine waits under {@code key} (an auth
     * id) until {@code auth register} approves it. Returns the node as it will be (id 0, not stored yet).
     */
    public NodeInfo debugCreateNode(String user, String key, String name, List<String> routes) {
        String id = authId(key);
        if (name == null || name.isBlank()) throw AdminException.invalid("a name is required");
        User u = resolveUser(user);
        List<IpPrefix> prefixes = new java.util.ArrayList<>();
        for (String r : routes == null ? List.<String>of() : routes) {
            try {
                prefixes.add(IpPrefix.parse(r.strip()));
            } catch (IllegalArgumentException e) {
                throw AdminException.invalid("invalid route \"" + r + "\": " + e.getMessage());
            }
        }
        dev.lattice.wire.tailcfg.RegisterRequest req;
        try {
            req = registrations.debugPending(id, name, prefixes);
        } catch (IllegalStateException e) {
            throw new AdminException(AdminException.Code.FAILED_PRECONDITION, e.getMessage());
        }
        TailnetNode draft = TailnetNode.builder()
                .machineKey(dev.lattice.crypto.key.MachinePrivateKey.generate().publicKey())
                .nodeKey(req.nodeKey())
                .hostname(name)
                .givenName(DnsLabels.sanitize(name))
                .userId(u.id())
                .hostinfo(req.hostinfo())
                .build();
        return new NodeInfo(draft, u, false, false, prefixes, List.of(), null);
    }

    /**
     * Headscale's {@code nodes backfillips}: every node gets an address of each configured family it lacks, and
     * loses the addresses of a family no longer configured. Returns what changed, a line each; nothing without
     * {@code confirmed}.
     */
    public List<String> backfillNodeIps(boolean confirmed) {
        if (!confirmed) throw AdminException.invalid("not confirmed, aborting");
        var ips = tailnet.ips();
        List<String> changes = new java.util.ArrayList<>();
        for (TailnetNode n : tailnet.nodes()) {
            java.net.Inet4Address a4 = n.ipv4();
            java.net.Inet6Address a6 = n.ipv6();
            List<String> mine = new java.util.ArrayList<>();
            if (ips.hasV4() && a4 == null) {
                a4 = ips.allocateV4();
                mine.add("assigned IPv4 \"" + IpPrefix.format(a4) + "\" to Node(" + n.id() + ") \"" + n.hostname() + "\"");
            }
            if (ips.hasV6() && a6 == null) {
                a6 = ips.allocateV6();
                mine.add("assigned IPv6 \"" + IpPrefix.format(a6) + "\" to Node(" + n.id() + ") \"" + n.hostname() + "\"");
            }
            if (!ips.hasV4() && a4 != null) {
                mine.add("removing IPv4 \"" + IpPrefix.format(a4) + "\" from Node(" + n.id() + ") \"" + n.hostname() + "\"");
                a4 = null;
            }
            if (!ips.hasV6() && a6 != null) {
                mine.add("removing IPv6 \"" + IpPrefix.format(a6) + "\" from Node(" + n.id() + ") \"" + n.hostname() + "\"");
                a6 = null;
            }
            if (mine.isEmpty()) continue;
            java.net.Inet4Address v4 = a4;
            java.net.Inet6Address v6 = a6;
            try {
                mutate(n.id(), x -> x.toBuilder().addresses(v4, v6).build());
            } catch (RuntimeException e) {
                if (v4 != null && n.ipv4() == null) ips.release(v4);
                if (v6 != null && n.ipv6() == null) ips.release(v6);
                throw e;
            }
            changes.addAll(mine);
        }
        return changes;
    }

    /**
     * Sets the node's key expiry: {@code expiry} null means now (log it out), {@code disable} removes the expiry.
     */
    public NodeInfo expireNode(long id, Instant expiry, boolean disable) {
        AdminInput.inRange("expiry", expiry);
        existing(id);
        Instant when = disable ? null : expiry == null ? now() : expiry;
        return info(mutate(id, n -> n.toBuilder().expiry(when).build()));
    }

    public NodeInfo renameNode(long id, String newName) {
        if (newName == null || newName.isEmpty()) throw AdminException.invalid("the new node name must not be empty");
        if (newName.length() > DnsLabels.MAX_LABEL || !DnsLabels.sanitize(newName).equals(newName)) {
            throw AdminException.invalid("invalid node name \"" + newName
                    + "\": use a DNS label (lowercase letters, digits and '-', at most 63, not starting or ending with '-')");
        }
        existing(id);
        return info(mutate(id, n -> n.toBuilder().givenName(newName).build()));
    }

    public void deleteNode(long id) {
        existing(id);
        call(() -> tailnet.delete(id));
    }

    /** Makes the node tagged (owned by its tags, no longer by a user), as Headscale 0.29 does. */
    public NodeInfo setTags(long id, List<String> tags) {
        List<String> t = tags == null ? List.of() : tags.stream().map(String::strip).filter(s -> !s.isEmpty()).distinct().toList();
        if (t.isEmpty()) throw AdminException.invalid("cannot remove all tags from a node - tagged nodes must have at least one tag");
        for (String tag : t) checkTag(tag);
        // As headscale's SetNodeTags: an admin may set any tag the policy defines, whoever owns it.
        Optional<CompiledPolicy> p = policy == null ? Optional.empty() : policy.compiled();
        if (p.isPresent()) {
            List<String> undefined = t.stream().filter(tag -> !p.get().definedTags().contains(tag)).toList();
            if (!undefined.isEmpty()) throw AdminException.invalid(new Tags.NotPermitted(undefined).getMessage()
                    + " (tags must be defined in the policy's tagOwners)");
        }
        existing(id);
        NodeTags nodeTags = NodeTags.of(t);
        TailnetNode updated = mutate(id, n -> n.toBuilder().tags(nodeTags).userId(null).build());
        // New owner, maybe new auto-approvals for its advertised routes.
        return info(registrations.routes().apply(id).orElse(updated));
    }

    /** Replaces the approved routes; an empty list removes them all. {@code 0.0.0.0/0} or {@code ::/0} approve both. */
    public NodeInfo approveRoutes(long id, List<String> routes) {
        LinkedHashSet<IpPrefix> out = new LinkedHashSet<>();
        for (String r : routes == null ? List.<String>of() : routes) {
            if (r.isBlank()) continue;
            IpPrefix p;
            try {
                p = IpPrefix.parse(r.strip());
            } catch (IllegalArgumentException e) {
                throw AdminException.invalid("parsing route: " + e.getMessage());
            }
            if (p.equals(ALL_V4) || p.equals(ALL_V6)) {
                out.add(ALL_V4);
                out.add(ALL_V6);
            } else {
                out.add(p);
            }
        }
        List<IpPrefix> sorted = new ArrayList<>(out);
        sorted.sort(PREFIX_ORDER);
        existing(id);
        return info(mutate(id, n -> n.toBuilder().approvedRoutes(sorted).build()));
    }

    static final Comparator<IpPrefix> PREFIX_ORDER = (a, b) -> {
        byte[] x = a.bytes();
        byte[] y = b.bytes();
        if (x.length != y.length) return Integer.compare(x.length, y.length);
        int c = Arrays.compareUnsigned(x, y);
        return c != 0 ? c : Integer.compare(a.bits(), b.bits());
    };

    // ---- policy ----

    private PolicyManager policyManager() {
        if (policy == null) throw new AdminException(AdminException.Code.UNIMPLEMENTED, "this server has no policy manager");
        return policy;
    }

    /** The policy as written: the file in file mode, the stored text in database mode. */
    public PolicyText getPolicy() {
        PolicyManager pm = policyManager();
        Optional<PolicyManager.Current> c;
        try {
            c = pm.text();
        } catch (java.io.IOException e) {
            throw new AdminException(AdminException.Code.INTERNAL, "reading policy file: " + e.getMessage());
        }
        if (c.isEmpty()) {
            throw AdminException.notFound(pm.mode() == ControlConfig.PolicyMode.DATABASE
                    ? "no policy has been set (lattice-control policy set -f FILE)"
                    : "no policy file is configured (policy.path)");
        }
        return new PolicyText(c.get().text(), c.get().updated());
    }

    /** Database mode: validates (tests included), stores and applies {@code text}. */
    public PolicyText setPolicy(String text) {
        PolicyManager pm = policyManager();
        if (text == null) throw AdminException.invalid("a policy is required");
        if (pm.mode() != ControlConfig.PolicyMode.DATABASE) {
            throw new AdminException(AdminException.Code.FAILED_PRECONDITION,
                    "update is disabled for modes other than 'database' (policy.mode is file: edit " + "the policy file instead)");
        }
        try {
            StoredPolicy s = pm.set(text);
            return new PolicyText(s.data(), s.updated());
        } catch (PolicyException e) {
            throw AdminException.invalid("setting policy: " + e.getMessage());
        }
    }

    /** Validates {@code text} against the live nodes and users, tests included; nothing changes. */
    public void checkPolicy(String text) {
        PolicyManager pm = policyManager();
        if (text == null) throw AdminException.invalid("a policy is required");
        try {
            pm.check(text);
        } catch (PolicyException e) {
            throw AdminException.invalid(e.getMessage());
        }
    }

    // ---- pre-auth keys ----

    public NewKey<KeyInfo> createPreAuthKey(NewPreAuthKey req) {
        User u = req.user() == null || req.user().isEmpty() || req.user().equals("0") ? null : resolveUser(req.user());
        List<String> tags = req.tags() == null ? List.of() : req.tags().stream().map(String::strip).filter(s -> !s.isEmpty()).distinct().toList();
        for (String tag : tags) checkTag(tag);
        if (u == null && tags.isEmpty()) throw AdminException.invalid("a pre-auth key needs a user (--user) or tags (--tags)");
        AdminInput.inRange("expiration", req.expiration());
        if (req.expiration() != null && !req.expiration().isAfter(now())) throw AdminException.invalid("expiration must be in the future");
        Instant expiration = req.expiration() != null ? req.expiration() : now().plus(DEFAULT_PRE_AUTH_KEY_LIFETIME);
        NewKey<PreAuthKey> k = call(() -> store().preAuthKeys().create(u == null ? null : u.id(), req.reusable(),
                req.ephemeral(), tags, expiration));
        return new NewKey<>(new KeyInfo(k.key(), u), k.fullKey());
    }

    /** All keys, or the keys owned by {@code user} (name or id) when it is not null/empty. */
    public List<KeyInfo> listPreAuthKeys(String user) {
        List<PreAuthKey> keys = user == null || user.isEmpty()
                ? call(() -> store().preAuthKeys().list())
                : call(() -> store().preAuthKeys().listByUser(resolveUser(user).id()));
        return keys.stream().map(this::keyInfo).toList();
    }

    public void expirePreAuthKey(long id) {
        if (!call(() -> store().preAuthKeys().expire(id, now()))) throw AdminException.notFound("pre-auth key with id " + id + " not found");
    }

    public void deletePreAuthKey(long id) {
        if (!call(() -> store().preAuthKeys().delete(id))) throw AdminException.notFound("pre-auth key with id " + id + " not found");
    }

    // ---- API keys ----

    /** @param expiration null = {@link #DEFAULT_API_KEY_LIFETIME} from now */
    public NewKey<ApiKey> createApiKey(Instant expiration) {
        AdminInput.inRange("expiration", expiration);
        if (expiration != null && !expiration.isAfter(now())) throw AdminException.invalid("expiration must be in the future");
        Instant at = expiration != null ? expiration : now().plus(DEFAULT_API_KEY_LIFETIME);
        return call(() -> store().apiKeys().create(at));
    }

    public List<ApiKey> listApiKeys() {
        return call(() -> store().apiKeys().list());
    }

    /** Expires the key given by id (non-zero) or by prefix (as listed, with or without {@code lattice-api-}). */
    public void expireApiKey(long id, String prefix) {
        ApiKey k = apiKey(id, prefix);
        call(() -> store().apiKeys().expire(k.id(), now()));
    }

    public void deleteApiKey(long id, String prefix) {
        ApiKey k = apiKey(id, prefix);
        call(() -> store().apiKeys().delete(k.id()));
    }

    /** Checks a bearer token (constant-time comparison in the store); UNAUTHENTICATED when it is not a live key. */
    public ApiKey authenticate(String apiKey) {
        try {
            return store().apiKeys().verify(apiKey, now());
        } catch (AuthKeyException e) {
            throw new AdminException(AdminException.Code.UNAUTHENTICATED, "Unauthorized");
        }
    }

    private ApiKey apiKey(long id, String prefix) {
        boolean hasPrefix = prefix != null && !prefix.isEmpty();
        if ((id == 0) == !hasPrefix) throw AdminException.invalid("give exactly one of --id or --prefix");
        String p = hasPrefix ? normalizeApiPrefix(prefix) : null;
        return listApiKeys().stream().filter(k -> id != 0 ? k.id() == id : k.prefix().equals(p)).findFirst()
                .orElseThrow(() -> AdminException.notFound(id != 0 ? "API key with id " + id + " not found" : "API key with prefix " + p + " not found"));
    }

    static String normalizeApiPrefix(String prefix) {
        String p = prefix.strip();
        if (p.startsWith("lattice-api-")) p = p.substring("lattice-api-".length());
        if (p.endsWith("-***")) p = p.substring(0, p.length() - 4);
        return p;
    }

    // ---- helpers ----

    private TailnetNode existing(long id) {
        return tailnet.node(id).orElseThrow(() -> AdminException.notFound("node with id " + id + " not found"));
    }

    private TailnetNode mutate(long id, java.util.function.UnaryOperator<TailnetNode> f) {
        return call(() -> tailnet.update(id, Change.Kind.UPDATED, f))
                .orElseThrow(() -> AdminException.notFound("node with id " + id + " not found"));
    }

    NodeInfo info(TailnetNode n) {
        List<IpPrefix> available = n.announcedRoutes();
        KeyInfo key = n.authKeyId() == null ? null : store().preAuthKeys().get(n.authKeyId()).map(this::keyInfo).orElse(null);
        User owner = n.isTagged() ? TAGGED_DEVICES : tailnet.user(n.userId()).orElse(null);
        return new NodeInfo(n, owner, tailnet.isOnline(n.id()), n.isExpired(now()),
                available, nodes.servedRoutes(n), key);
    }

    private KeyInfo keyInfo(PreAuthKey k) {
        return new KeyInfo(k, k.userId() == null ? null : store().users().get(k.userId()).orElse(null));
    }

    private static void checkTag(String tag) {
        if (!tag.startsWith("tag:") || tag.length() == 4) throw AdminException.invalid("tag \"" + tag + "\" must start with the string 'tag:'");
        if (!tag.toLowerCase(Locale.ROOT).equals(tag)) throw AdminException.invalid("tag \"" + tag + "\" should be lowercase");
        if (tag.chars().anyMatch(Character::isWhitespace)) throw AdminException.invalid("tags must not contain spaces");
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.length() <= 18 && s.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    /** Runs a store/tailnet operation and turns its exceptions into {@link AdminException}s. */
    private static <T> T call(Supplier<T> op) {
        try {
            return op.get();
        } catch (AdminException e) {
            throw e;
        } catch (ConflictException e) {
            throw withCause(new AdminException(AdminException.Code.ALREADY_EXISTS, e.getMessage()), e);
        } catch (NotFoundException e) {
            throw withCause(AdminException.notFound(e.getMessage()), e);
        } catch (UserHasNodesException e) {
            throw withCause(new AdminException(AdminException.Code.FAILED_PRECONDITION, e.getMessage()), e);
        } catch (StoreException e) {
            throw withCause(new AdminException(AdminException.Code.INTERNAL, e.getMessage()), e);
        } catch (IllegalArgumentException e) {
            throw withCause(AdminException.invalid(e.getMessage()), e);
        }
    }

    private static AdminException withCause(AdminException a, Throwable cause) {
        a.initCause(cause);
        return a;
    }
}
