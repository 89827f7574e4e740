package dev.lattice.control.auth;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.netmap.TailcfgNodes;
import dev.lattice.control.policy.CompiledPolicy;
import dev.lattice.control.state.Change;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.AuthKeyException;
import dev.lattice.control.store.ConflictException;
import dev.lattice.control.store.DnsLabels;
import dev.lattice.control.store.KeyUse;
import dev.lattice.control.store.NodeTags;
import dev.lattice.control.store.PreAuthKey;
import dev.lattice.control.store.RegisterMethod;
import dev.lattice.control.store.User;
import dev.lattice.control.metrics.ControlMetrics;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.Login;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@code /machine/register} logic, in headscale's order of cases (see {@code handleRegister}). */
public final class Registrations {
    private volatile ControlMetrics metrics;
    private static final Logger log = LoggerFactory.getLogger(Registrations.class);
    /** Interactive registrations expire like headscale's auth cache entries. */
    static final Duration PENDING_TTL = Duration.ofMinutes(15);
    /** A follow-up request is held at most this long; the client then asks again. */
    static final Duration FOLLOWUP_WAIT = Duration.ofMinutes(2);
    private static final String ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Tailnet tailnet;
    private final IpAllocator ips;
    private final TailcfgNodes nodes;
    private final URI serverUrl;
    private final Duration defaultExpiry;
    private final PendingRegistry pending;
    private final Supplier<Optional<CompiledPolicy>> policy;
    private final RouteApprovals routes;

    /** Without a policy: every tag a key carries is accepted, advertised tags are refused, no route is auto-approved. */
    public Registrations(Tailnet tailnet, IpAllocator ips, TailcfgNodes nodes, ControlConfig cfg) {
        this(tailnet, ips, nodes, cfg, Optional::empty);
    }

    /** @param policy the policy in force (empty: none configured) */
    public Registrations(Tailnet tailnet, IpAllocator ips, TailcfgNodes nodes, ControlConfig cfg,
            Supplier<Optional<CompiledPolicy>> policy) {
        this.tailnet = tailnet;
        this.ips = ips;
        this.nodes = nodes;
        this.serverUrl = cfg.serverUrl();
        this.defaultExpiry = cfg.node().expiry();
        this.policy = policy;
        this.routes = new RouteApprovals(tailnet, policy);
        this.pending = new PendingRegistry(tailnet.store().changes().enabled() ? tailnet.store().pendingRegistrations() : null,
                PENDING_TTL);
    }

    private volatile boolean atIdentityProvider;

    /** Whether people complete interactive registrations by logging in at the identity provider (OIDC), for the log. */
    public void loginAtIdentityProvider(boolean on) {
        this.atIdentityProvider = on;
    }

    /** Where outcomes are counted ({@code lattice_registrations_total}); none until set. */
    public void metrics(ControlMetrics m) {
        this.metrics = m;
    }

    private void count(String result) {
        ControlMetrics m = metrics;
        if (m != null) m.registrations.labelValues(result).inc();
    }

    public RouteApprovals routes() {
        return routes;
    }

    /**
     * Answers a register request. Every refusal (a bad or spent key, tags the policy does not allow, a node key of
     * another machine, ...) is a response carrying only {@code Error}, as headscale answers it, and writes nothing.
     */
    public CompletionStage<RegisterResponse> register(MachinePublicKey machineKey, RegisterRequest req) {
        try {
            for (int attempt = 1; ; attempt++) {
                try {
                    return handle(machineKey, req);
                } catch (ConflictException e) {
                    if (attempt >= 3 || !learnOwnRace(machineKey, e)) throw e;
                }
            }
        } catch (Refusal e) {
            count("refused");
            log.atInfo().setMessage("registration of {} refused: {}").addArgument(machineKey).addArgument(e.getMessage())
                    .addKeyValue("machine_key", machineKey.toString()).addKeyValue("reason", e.getMessage()).log();
            return CompletableFuture.completedFuture(RegisterResponse.builder().error(e.getMessage()).build());
        }
    }

    /**
     * A machine that sends its registration several times at once (a client retrying on a slow answer, or rotating
     * its node key while the first is in flight) races itself: each request sees no node, the first stores one and
     * the others lose to the machine (or node) key's unique constraint. Learns the node the winner stored (on this
     * replica it is already known; another replica's is read) so that the retry re-registers it like any later
     * request would; false when the conflict is not this machine's own node.
     */
    private boolean learnOwnRace(MachinePublicKey machineKey, ConflictException e) {
        List<TailnetNode> stored = tailnet.store().nodes().byMachineKey(machineKey);
        if (stored.isEmpty()) return false;
        java.util.Set<Long> known = new java.util.HashSet<>();
        for (TailnetNode n : tailnet.byMachineKey(machineKey)) known.add(n.id());
        List<TailnetNode> unknown = stored.stream().filter(n -> !known.contains(n.id())).toList();
        if (!unknown.isEmpty()) {
            // Stored by another replica (whose row may also have won the given name or an address first).
            for (TailnetNode n : unknown) tailnet.refresh(n.id());
        } else if (!"machine_key".equals(e.column()) && !"node_key".equals(e.column())) {
            return false; // known here already: a conflict of another kind, not this race
        }
        log.debug("registration of {} raced its own earlier request; registering again", machineKey);
        return true;
    }

    private CompletionStage<RegisterResponse> handle(MachinePublicKey machineKey, RegisterRequest req) {
        if (req.nodeKey() == null || req.nodeKey().isZero()) throw new Refusal("register request without a node key");
        Instant now = tailnet.now();
        Instant expiry = Tailcfg.isZero(req.expiry()) ? null : req.expiry();

        // Logout: an expiry in the past.
        if (expiry != null && expiry.isBefore(now)) {
            Optional<TailnetNode> n = tailnet.byNodeKey(req.nodeKey());
            if (n.isPresent()) return CompletableFuture.completedFuture(logout(n.get(), machineKey, req, now));
        }

        boolean hasAuthKey = req.auth() != null && req.auth().authKey() != null && !req.auth().authKey().isEmpty();
        if (!hasAuthKey) {
            Optional<TailnetNode> n = tailnet.byNodeKey(req.nodeKey());
            if (n.isPresent()) {
                TailnetNode node = n.get();
                checkMachine(node, machineKey);
                if (expiry == null && !node.isExpired(now)) {
                    refreshHostinfo(node, req);
                    count("refresh");
                    return CompletableFuture.completedFuture(authorized(node));
                }
                return CompletableFuture.completedFuture(logout(node, machineKey, req, now));
            }
            // A new node key with the old one named (tailscale's regen: `up --force-reauth`, `login`) is a new login,
            // not a silent rotation: the person may be switching accounts. Headscale has no such shortcut either.
        }

        if (req.followup() != null && !req.followup().isEmpty()) return waitForFollowup(machineKey, req);
        if (hasAuthKey) return CompletableFuture.completedFuture(withAuthKey(machineKey, req, now));
        return CompletableFuture.completedFuture(startInteractive(machineKey, req, now));
    }

    private static void checkMachine(TailnetNode node, MachinePublicKey machineKey) {
        if (!node.machineKey().equals(machineKey)) throw new Refusal("node exists with a different machine key");
    }

    private RegisterResponse logout(TailnetNode node, MachinePublicKey machineKey, RegisterRequest req, Instant now) {
        checkMachine(node, machineKey);
        count("logout");
        if (node.isExpired(now)) return RegisterResponse.builder().nodeKeyExpired(true).machineAuthorized(false).build();
        Instant expiry = Tailcfg.isZero(req.expiry()) ? null : req.expiry();
        if (expiry != null && expiry.isAfter(now)) throw new Refusal("extending key is not allowed");
        if (node.ephemeral()) {
            tailnet.delete(node.id());
            log.info("ephemeral node {} ({}) logged out and was deleted", node.id(), node.givenName());
            return RegisterResponse.builder().nodeKeyExpired(true).machineAuthorized(false).build();
        }
        TailnetNode expired = tailnet.update(node.id(), Change.Kind.UPDATED, x -> x.toBuilder().expiry(now).build())
                .orElseThrow();
        log.info("node {} ({}) logged out", node.id(), node.givenName());
        return authorized(expired).toBuilder().nodeKeyExpired(true).build();
    }

    private void refreshHostinfo(TailnetNode node, RegisterRequest req) {
        Hostinfo hi = req.hostinfo();
        if (hi == null || hi.equals(node.hostinfo())) return;
        String hostname = reportedHostname(hi).orElse(node.hostname());
        tailnet.update(node.id(), Change.Kind.UPDATED, x -> tailnet.withReportedHostinfo(x, hostname, hi));
        routes.apply(node.id());
    }

    /**
     * Registration with a pre-auth key (headscale's {@code HandleNodeFromPreAuthKey}): everything is checked with
     * reads first, and only the transaction that stores the node writes, spending a single-use key with it. A
     * still-valid node re-registering with its own node key (a restart, or a retry after a lost reply) needs no usable
     * key: the machine key proves it is the machine that was already admitted.
     */
    private RegisterResponse withAuthKey(MachinePublicKey machineKey, RegisterRequest req, Instant now) {
        try {
            PreAuthKey key = tailnet.store().preAuthKeys().find(req.auth().authKey());
            Optional<TailnetNode> holder = tailnet.byNodeKey(req.nodeKey());
            if (holder.isPresent() && !holder.get().machineKey().equals(machineKey)) {
                throw new Refusal("node key already in use by another machine");
            }
            boolean ephemeral = key.ephemeral() || Boolean.TRUE.equals(req.ephemeral());
            Optional<TailnetNode> existing = existingForKey(machineKey, key);
            if (holder.isPresent() && (existing.isEmpty() || existing.get().id() != holder.get().id())) {
                // Another user's node on this machine has this node key: a new node cannot take it from that one.
                throw new Refusal("node key already in use by another node of this machine");
            }
            if (existing.isPresent() && isReRegistration(existing.get(), key, req, now)) {
                // Tags and ownership stay as they are (headscale applies a key's tags only at the first registration).
                TailnetNode n = existing.get();
                TailnetNode node = upsert(machineKey, req, existing, n.userId(), n.tags(), key.id(), ephemeral,
                        RegisterMethod.AUTH_KEY, now, null);
                log.info("node {} ({}) re-registered with its pre-auth key", node.id(), node.givenName());
                count("registered");
                return authorized(node);
            }
            key.requireUsable(now);
            List<String> tags;
            try {
                tags = Tags.forAuthKey(policy.get(), key.userId(), key.tags(), requestTags(req));
            } catch (Tags.NotPermitted e) {
                throw new Refusal(e.getMessage());
            }
            TailnetNode node = upsert(machineKey, req, existing, key.userId(), NodeTags.of(tags), key.id(), ephemeral,
                    RegisterMethod.AUTH_KEY, now, KeyUse.of(key).orElse(null));
            log.atInfo().setMessage("registered node {} ({}) with a pre-auth key{}").addArgument(node.id())
                    .addArgument(node.givenName()).addArgument(ephemeral ? " (ephemeral)" : "")
                    .addKeyValue("node_id", node.id()).addKeyValue("node", node.givenName()).addKeyValue("ephemeral", ephemeral).log();
            count("registered");
            return authorized(node);
        } catch (AuthKeyException e) {
            // headscale's texts: "invalid pre auth key" (not found), PAKError "authkey expired" / "authkey already used"
            throw new Refusal(switch (e.reason()) {
                case UNKNOWN -> "invalid pre auth key";
                case EXPIRED -> "authkey expired";
                case ALREADY_USED -> "authkey already used";
            });
        }
    }

    /**
     * The node of this machine that a registration with {@code key} re-registers, as Headscale v0.29's
     * {@code findExistingNodeForPAK}: a user's key finds that user's node, else the machine's tagged node (an admin
     * may have tagged it since); a key without a user (tags only) finds the tagged node, else the one user-owned node
     * it converts. None: the registration makes a new node, even if other users have nodes on the machine (fast user
     * switching; Headscale does not move a node between users).
     *
     * @throws Refusal when a key without a user would have to pick one of several users' nodes to convert
     */
    private Optional<TailnetNode> existingForKey(MachinePublicKey machineKey, PreAuthKey key) {
        List<TailnetNode> all = tailnet.byMachineKey(machineKey);
        Optional<TailnetNode> tagged = all.stream().filter(TailnetNode::isTagged).findFirst();
        if (key.userId() != null) {
            Optional<TailnetNode> own = all.stream().filter(n -> !n.isTagged() && key.userId().equals(n.userId())).findFirst();
            return own.isPresent() ? own : tagged;
        }
        if (tagged.isPresent()) return tagged;
        List<TailnetNode> owned = all.stream().filter(n -> !n.isTagged()).toList();
        if (owned.size() > 1) throw new Refusal("machine key maps to ambiguous node ownership");
        return owned.stream().findFirst();
    }

    /**
     * The node of this machine that an interactive login of {@code userId} re-registers (Headscale's
     * {@code HandleNodeFromAuthPath}): the user's own node, else the machine's tagged node (which the login converts
     * back to the user's); empty when the user has none there, and the login makes a new node.
     */
    public Optional<TailnetNode> existingForUser(MachinePublicKey machineKey, long userId) {
        List<TailnetNode> all = tailnet.byMachineKey(machineKey);
        Optional<TailnetNode> own = all.stream().filter(n -> !n.isTagged() && n.userId() != null && n.userId() == userId).findFirst();
        return own.isPresent() ? own : all.stream().filter(TailnetNode::isTagged).findFirst();
    }

    /**
     * The machine's node re-registering as itself (headscale's skip-validation case): same owner as the key, same
     * node key (a rotation needs a usable key), not expired (an expired node is logging in anew), and not a
     * user-owned node a tagged key would convert.
     */
    private static boolean isReRegistration(TailnetNode node, PreAuthKey key, RegisterRequest req, Instant now) {
        boolean sameOwner = node.isTagged() || (key.userId() != null && key.userId().equals(node.userId()));
        boolean conversion = !key.tags().isEmpty() && !node.isTagged();
        return sameOwner && !conversion && node.nodeKey().equals(req.nodeKey()) && !node.isExpired(now);
    }

    /**
     * Re-registers {@code existing} (the machine's node this login is for, see {@link #existingForKey} and
     * {@link #existingForUser}) so that its addresses and name stay the same across logins, or creates a new node of
     * the machine when it is empty. {@code spend} (a single-use key, or null) is marked used by the same
     * transaction that stores the node.
     *
     * @throws AuthKeyException ALREADY_USED when another registration spent the key first; nothing is stored then
     */
    TailnetNode upsert(MachinePublicKey machineKey, RegisterRequest req, Optional<TailnetNode> existing, Long userId,
            NodeTags tags, Long authKeyId, boolean ephemeral, RegisterMethod method, Instant now, KeyUse spend) {
        return upsert(machineKey, req, existing, userId, tags, authKeyId, ephemeral, method, now, spend, null);
    }

    /** @param expiryOverride the node's key expiry instead of node.expiry's (an ID token's, with use_expiry_from_token) */
    TailnetNode upsert(MachinePublicKey machineKey, RegisterRequest req, Optional<TailnetNode> existing, Long userId,
            NodeTags tags, Long authKeyId, boolean ephemeral, RegisterMethod method, Instant now, KeyUse spend,
            Instant expiryOverride) {
        Hostinfo hi = req.hostinfo();
        Optional<String> reported = reportedHostname(hi);
        Instant expiry = expiryOverride != null ? expiryOverride
                : defaultExpiry == null || defaultExpiry.isZero() ? null : now.plus(defaultExpiry);
        if (existing.isPresent()) {
            // A re-registering node's name follows a changed hostname as on a map request (Headscale leaves the
            // given name alone here, which strands it on the old hostname: no later change counts as auto-derived).
            String hostname = reported.orElse(existing.get().hostname());
            TailnetNode n = tailnet.update(existing.get().id(), Change.Kind.UPDATED, x -> tailnet.withReportedHostinfo(
                    x.toBuilder()
                            .nodeKey(req.nodeKey())
                            .userId(tags.isEmpty() ? userId : null)
                            .tags(tags)
                            .expiry(tags.isEmpty() ? expiry : null)
                            .authKeyId(authKeyId)
                            .ephemeral(ephemeral)
                            .registerMethod(method)
                            .build(),
                    hostname, hi), spend).orElseThrow();
            return routes.apply(n.id()).orElse(n);
        }
        IpAllocator.Addresses a = ips.allocate();
        try {
            String hostname = reported.orElse(DnsLabels.FALLBACK);
            // Tailnet.add makes the label unique (hostname, hostname-1, ...).
            String given = DnsLabels.sanitize(hostname);
            TailnetNode draft = TailnetNode.builder()
                    .machineKey(machineKey)
                    .nodeKey(req.nodeKey())
                    .hostname(hostname)
                    .givenName(given)
                    .userId(tags.isEmpty() ? userId : null)
                    .addresses(a.v4(), a.v6())
                    .tags(tags)
                    .expiry(tags.isEmpty() ? expiry : null) // tagged nodes do not expire (headscale)
                    .hostinfo(hi)
                    .authKeyId(authKeyId)
                    .ephemeral(ephemeral)
                    .registerMethod(method)
                    .build();
            TailnetNode n = tailnet.add(draft, spend);
            return routes.apply(n.id()).orElse(n);
        } catch (RuntimeException e) {
            if (a.v4() != null) ips.release(a.v4());
            if (a.v6() != null) ips.release(a.v6());
            throw e;
        }
    }

    private RegisterResponse startInteractive(MachinePublicKey machineKey, RegisterRequest req, Instant now) {
        String id = newAuthId();
        pending.add(new PendingRegistration(id, machineKey, req, now, new CompletableFuture<>()), now);
        String url = serverUrl.resolve("/register/" + id).toString();
        count("auth_url");
        String host = req.hostinfo() == null ? "a node" : req.hostinfo().hostname();
        if (atIdentityProvider) {
            log.info("interactive registration {} started for {}; waiting for a login at the identity provider", id, host);
        } else {
            log.info("interactive registration {} started for {}; complete it with: lattice-control auth register --auth-id {} --user USER",
                    id, host, id);
        }
        return RegisterResponse.builder().authUrl(url).build();
    }

    private CompletionStage<RegisterResponse> waitForFollowup(MachinePublicKey machineKey, RegisterRequest req) {
        String id = authIdOf(req.followup());
        PendingRegistration p = id == null ? null : pending.waitHere(id, tailnet.now()).orElse(null);
        if (p == null && id != null) {
            // Replicas: answered (on any replica) before the follow-up came; a node this replica may not know yet.
            Optional<RegisterResponse> answer = storedAnswer(id, machineKey);
            if (answer.isPresent()) return CompletableFuture.completedFuture(answer.get());
        }
        if (p == null || !p.machineKey().equals(machineKey)) {
            // Unknown or expired: start over with a fresh URL, as headscale does.
            return CompletableFuture.completedFuture(startInteractive(machineKey, req.toBuilder().followup(null).build(), tailnet.now()));
        }
        return p.outcome().copy().completeOnTimeout(RegisterResponse.builder().authUrl(req.followup()).build(),
                FOLLOWUP_WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /**
     * Completes an interactive registration for {@code user} (the admin's {@code auth register}). Returns the node.
     *
     * @throws Tags.NotPermitted when the client advertises tags the user may not own (the client is told too)
     */
    public TailnetNode approve(String authId, User user) {
        return complete(authId, user, RegisterMethod.CLI, null);
    }

    /**
     * Completes an interactive registration for {@code user} as {@code method} ({@code CLI} for the admin's
     * {@code auth register}, {@code OIDC} after a login at the identity provider), with the node's key expiring at
     * {@code expiry} (null: node.expiry). A machine where the user already has a node keeps it, its addresses and
     * name; another user logging in on the machine gets a node of their own, and the first user's node stays (as
     * Headscale v0.29 does: Tailscale's fast user switching keeps a node per account).
     *
     * @throws IllegalArgumentException when no registration waits under {@code authId}
     * @throws Tags.NotPermitted when the client advertises tags the user may not own (the client is told too)
     */
    public TailnetNode complete(String authId, User user, RegisterMethod method, Instant expiry) {
        PendingRegistration p = pending.find(authId, tailnet.now()).orElse(null);
        if (p == null) throw new IllegalArgumentException("no pending registration with auth id " + authId);
        List<String> tags;
        try {
            tags = Tags.forUser(policy.get(), user.id(), requestTags(p.request()));
        } catch (Tags.NotPermitted e) {
            // The client hears it too, as it would from headscale, and stops waiting.
            if (pending.claim(p)) pending.answer(p, RegisterResponse.builder().error(e.getMessage()).build(), null, e.getMessage());
            throw e;
        }
        // Only one completion wins (on any replica): a second (a replayed confirmation, an admin racing a login) finds
        // nothing.
        if (!pending.claim(p)) throw new IllegalArgumentException("no pending registration with auth id " + authId);
        TailnetNode node;
        try {
            node = upsert(p.machineKey(), p.request(), existingForUser(p.machineKey(), user.id()), user.id(),
                    NodeTags.of(tags), null, Boolean.TRUE.equals(p.request().ephemeral()), method, tailnet.now(), null, expiry);
        } catch (RuntimeException e) {
            pending.answer(p, RegisterResponse.builder().error("registration failed").build(), null, "registration failed");
            throw e;
        }
        pending.answer(p, authorized(node), node.id(), null);
        log.info("registered node {} ({}) for user {} by auth id ({})", node.id(), node.givenName(), user.name(), method.stored());
        count("approved");
        return node;
    }

    /** Whether {@code authId} names a registration waiting for an admin. */
    public boolean isPending(String authId) {
        return pending.find(authId, tailnet.now()).isPresent();
    }

    /**
     * Refuses the waiting registration {@code authId}: its client is told "auth request rejected" at once (a final
     * error, as every refusal here). Returns false when there is no such registration.
     */
    public boolean reject(String authId) {
        PendingRegistration p = pending.find(authId, tailnet.now()).orElse(null);
        if (p == null || !pending.claim(p)) return false;
        pending.answer(p, RegisterResponse.builder().error("auth request rejected").build(), null, "auth request rejected");
        count("refused");
        log.info("interactive registration {} rejected by an admin", authId);
        return true;
    }

    /**
     * Headscale's {@code debug create-node}: a registration waiting under {@code authId} for a made-up machine (fresh
     * keys, the given hostname and advertised routes), which {@code auth register} then turns into a node no client
     * holds. For tests and demonstrations.
     *
     * @throws IllegalStateException when {@code authId} is already waiting
     */
    public RegisterRequest debugPending(String authId, String hostname, List<IpPrefix> routes) {
        Instant now = tailnet.now();
        Hostinfo hi = Hostinfo.empty().withHostname(hostname).withOs("TestOS").withRoutableIps(routes);
        RegisterRequest req = RegisterRequest.builder().version(dev.lattice.wire.tailcfg.CapabilityVersion.CURRENT)
                .nodeKey(dev.lattice.crypto.key.NodePrivateKey.generate().publicKey()).hostinfo(hi).build();
        PendingRegistration p = new PendingRegistration(authId, dev.lattice.crypto.key.MachinePrivateKey.generate().publicKey(), req, now,
                new CompletableFuture<>());
        if (pending.find(authId, now).isPresent() || !pending.add(p, now)) {
            throw new IllegalStateException("auth id " + authId + " is already waiting");
        }
        return req;
    }

    /** The registration waiting under {@code authId}, if any (not expired). */
    public Optional<PendingRegistration> pending(String authId) {
        return pending.find(authId, tailnet.now());
    }

    /** Registrations waiting for an admin, for listing. */
    public List<PendingRegistration> pending() {
        return pending.all(tailnet.now());
    }

    /** Finds a pending registration by the node key its client registered with (the legacy {@code nodes register --key}). */
    public Optional<PendingRegistration> pendingByNodeKey(NodePublicKey key) {
        return pending.all(tailnet.now()).stream().filter(p -> key.equals(p.request().nodeKey())).findFirst();
    }

    /**
     * Replicas: the answer the database holds for the registration {@code authId} of {@code machineKey}: its node
     * (read first if this replica has not heard of it yet), or its error. Empty while it waits, or when unknown.
     */
    private Optional<RegisterResponse> storedAnswer(String authId, MachinePublicKey machineKey) {
        Optional<dev.lattice.control.store.PendingRegistrations.Row> row = pending.stored(authId);
        if (row.isEmpty() || !row.get().answered() || !row.get().machineKey().equals(machineKey)) return Optional.empty();
        if (row.get().error() != null) return Optional.of(RegisterResponse.builder().error(row.get().error()).build());
        tailnet.refresh(row.get().nodeId());
        return Optional.of(tailnet.node(row.get().nodeId()).map(this::authorized)
                .orElseGet(() -> RegisterResponse.builder().error("registration failed").build()));
    }

    /**
     * Replicas: another replica answered registrations (an admin's {@code nodes register} or a login served there).
     * The clients waiting here get their answers: the node, read from the database first if this replica has not heard
     * of it yet, or the error.
     */
    public void answeredElsewhere() {
        for (PendingRegistration p : pending.waitingHere()) {
            Optional<RegisterResponse> answer = storedAnswer(p.authId(), p.machineKey());
            if (answer.isEmpty()) continue;
            pending.release(p);
            p.outcome().complete(answer.get());
            log.info("interactive registration {} was answered on another replica", p.authId());
        }
    }

    RegisterResponse authorized(TailnetNode node) {
        RegisterResponse.Builder b = RegisterResponse.builder().machineAuthorized(true).nodeKeyExpired(node.isExpired(tailnet.now()));
        if (node.isTagged() || node.userId() == null) {
            b.user(new dev.lattice.wire.tailcfg.User(TailcfgNodes.TAGGED_DEVICES_USER_ID, "Tagged Devices", null, null));
            b.login(new Login(TailcfgNodes.TAGGED_DEVICES_USER_ID, null, "tagged-devices", "Tagged Devices", null));
        } else {
            tailnet.userOrStored(node.userId()).ifPresent(u -> { // a user another replica created a moment ago too
                var p = nodes.profile(u);
                b.user(new dev.lattice.wire.tailcfg.User(u.id(), p.displayName(), null, u.created()));
                b.login(new Login(u.id(), u.provider() == null || u.provider().isEmpty() ? null : u.provider(),
                        p.loginName(), p.displayName(), p.profilePicUrl()));
            });
        }
        return b.build();
    }

    /** The hostname a client reported, if any: a blank one keeps the node's current hostname (as Headscale). */
    public static Optional<String> reportedHostname(Hostinfo hi) {
        return hi == null || hi.hostname() == null || hi.hostname().isBlank() ? Optional.empty() : Optional.of(hi.hostname());
    }

    private static List<String> requestTags(RegisterRequest req) {
        return req.hostinfo() == null ? List.of() : req.hostinfo().requestTags();
    }

    static String authIdOf(String followupUrl) {
        int i = followupUrl.lastIndexOf('/');
        String id = i < 0 ? followupUrl : followupUrl.substring(i + 1);
        return id.isEmpty() || id.length() > 64 ? null : id;
    }

    /** A fresh auth id: 24 characters of an alphabet without look-alikes, as registrations and SSH checks use. */
    public static String newAuthId() {
        StringBuilder sb = new StringBuilder(24);
        for (int i = 0; i < 24; i++) sb.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        return sb.toString();
    }
}
