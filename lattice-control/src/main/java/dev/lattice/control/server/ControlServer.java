package dev.lattice.control.server;

import dev.lattice.control.admin.AdminApi;
import dev.lattice.control.logging.LogSettings;
import dev.lattice.guard.BodyLimiter;
import dev.lattice.guard.ConnectionGuard;
import dev.lattice.guard.Limits;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.control.netmap.RouteProbes;
import java.util.List;
import dev.lattice.control.admin.AdminRoutes;
import dev.lattice.control.http.LargeBodies;
import dev.lattice.control.http.Routes;
import dev.lattice.control.metrics.ControlMetrics;
import dev.lattice.control.admin.AdminSocket;
import dev.lattice.control.auth.Registrations;
import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.config.KeyFiles;
import dev.lattice.control.certs.AcmeChallenges;
import dev.lattice.control.certs.SetDnsRequests;
import dev.lattice.control.dns.ExtraRecordsWatcher;
import dev.lattice.control.dns.authoritative.Answerer;
import dev.lattice.control.dns.authoritative.AuthoritativeDnsServer;
import dev.lattice.control.dns.authoritative.TailnetZone;
import dev.lattice.control.http.ControlHttpServer;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.machine.MachineService;
import dev.lattice.control.machine.MachineStreamHandler;
import dev.lattice.control.machine.MapSink;
import dev.lattice.control.mapping.MapRequests;
import dev.lattice.control.netmap.DerpMaps;
import dev.lattice.control.netmap.DnsConfigs;
import dev.lattice.control.netmap.MapSessions;
import dev.lattice.control.netmap.TailcfgNodes;
import dev.lattice.control.noise.ControlSession;
import dev.lattice.control.noise.Ts2021Upgrader;
import dev.lattice.control.policy.PolicyException;
import dev.lattice.control.policy.PolicyManager;
import dev.lattice.control.replica.ChangeFollower;
import dev.lattice.control.replica.DerpIdentity;
import dev.lattice.control.replica.DerpMesh;
import dev.lattice.control.replica.SharedKeys;
import dev.lattice.control.state.Housekeeping;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Store;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.server.BootstrapDns;
import dev.lattice.derp.server.DerpMetrics;
import dev.lattice.derp.server.DerpServer;
import dev.lattice.metrics.GuardMetrics;
import dev.lattice.derp.server.DerpServerOptions;
import dev.lattice.derp.stun.StunServer;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DNSConfig;
import dev.lattice.wire.tailcfg.MapRequest;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.SetDNSRequest;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running control server: store, in-memory tailnet, ts2021 endpoint, embedded DERP and STUN. Built from a
 * {@link ControlConfig}; {@link #close()} stops everything in reverse order.
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlServer.class);

    private final ControlConfig config;
    private final Store store;
    private final Tailnet tailnet;
    private final MapSessions sessions;
    private final Registrations registrations;
    private final TailcfgNodes nodes;
    private final PolicyManager policy;
    /** {@code funnel}: null when off. */
    private final dev.lattice.control.funnel.Funnel funnel;
    private final ExecutorService workers;
    /** The DNS config every node gets; replaced when the extra records file changes. */
    private volatile DNSConfig dnsConfig;
    /** The DERP map every node gets; reloaded every derp.update_frequency. */
    private volatile DERPMap derpMap;
    private final DerpMaps derpMaps;
    private final ExtraRecordsWatcher extraRecords; // null without dns.extra_records_path
    private final ConnectionGuard guard;
    private ControlHttpServer http;
    private ControlHttpServer metricsHttp;
    private RouteProbes routeProbes;
    private DerpServer derp;
    private DerpMesh derpMesh; // PostgreSQL with the embedded DERP: the replicas' region
    private StunServer stun;
    private AuthoritativeDnsServer authoritativeDns;
    private final AcmeChallenges acmeChallenges = new AcmeChallenges();
    private final SetDnsRequests setDns;
    private final MachinePrivateKey noiseKey;
    private final FrontRoutes frontRoutes;
    private final dev.lattice.control.oidc.OidcLogin oidcLogin; // null without oidc.issuer
    private final dev.lattice.control.sshcheck.SshActions sshActions;
    private final dev.lattice.control.oidc.OidcProvider oidcProvider; // null without oidc.issuer
    private final BootstrapDns bootstrapDns; // null without the embedded DERP
    private final ControlMetrics metrics = new ControlMetrics();
    private final ScheduledExecutorService housekeeping =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("housekeeping").daemon().factory());
    // admin: the API and its local socket (lattice-control CLI)
    private final AdminApi adminApi;
    private AdminSocket adminSocket;
    /** PostgreSQL: follows the other replicas' writes; null on SQLite. */
    private final ChangeFollower changeFollower;
    /** How often the change log is read without a notification (after a missed one, or a reconnect). */
    static final java.time.Duration CHANGE_POLL = java.time.Duration.ofSeconds(2);
    /** PostgreSQL: online status across the replicas; null on SQLite. */
    private final dev.lattice.control.replica.ReplicaHeartbeat heartbeat; // PostgreSQL: this replica's row
    private final dev.lattice.control.replica.TailnetPresence presence;
    /** The replicas' heartbeat timing; tests shorten it (set before start). */
    static volatile dev.lattice.control.replica.TailnetPresence.Timing presenceTiming =
            dev.lattice.control.replica.TailnetPresence.Timing.DEFAULT;

    private ControlServer(ControlConfig config, Store store, Clock clock, PolicyManager.Engine engine) {
        this.config = config;
        this.store = store;
        // On PostgreSQL the keys live in the database, so that every replica on it is the same server to clients.
        this.noiseKey = store.isPostgres() ? SharedKeys.noiseKey(store, config.noisePrivateKeyPath())
                : KeyFiles.loadOrCreateMachineKey(config.noisePrivateKeyPath());
        this.guard = new ConnectionGuard(limits(config));
        // Replicas: the change log is read from the row that was newest before the tailnet was loaded, so no write
        // of another replica falls between the two (one read twice is harmless).
        long changesFrom = store.changes().enabled() ? store.changes().latest() : 0;
        IpAllocator ips = IpAllocator.fromStore(config.prefixes(), store.nodes());
        this.tailnet = new Tailnet(store, ips, clock);
        this.nodes = new TailcfgNodes(tailnet, config.dns().baseDomain(), config.taildropEnabled(), config.autoUpdateEnabled(),
                config.dns().certificates());
        nodes.usePrimaryRoutes(new dev.lattice.control.netmap.PrimaryRoutes(tailnet, nodes::activeRoutes));
        this.derpMaps = new DerpMaps(config);
        this.derpMap = derpMaps.load();
        // Read before anything starts: a missing or malformed file stops the server, as it stops Headscale.
        this.extraRecords = config.dns().extraRecordsPath() == null ? null : ExtraRecordsWatcher.open(config.dns().extraRecordsPath());
        this.dnsConfig = extraRecords == null ? DnsConfigs.build(config.dns()) : DnsConfigs.build(config.dns(), extraRecords.records());
        this.sessions = new MapSessions(tailnet, nodes, () -> this.derpMap, () -> dnsConfig, config.dns().baseDomain());
        this.workers = Executors.newVirtualThreadPerTaskExecutor();
        // Every new compilation goes to all map sessions; then advertised routes are checked against its
        // autoApprovers, off the compiling thread (approving a route changes a node, which recompiles).
        Registrations[] regs = new Registrations[1];
        this.funnel = config.funnel() == null ? null : new dev.lattice.control.funnel.Funnel(config.funnel(), tailnet);
        this.policy = new PolicyManager(config.policy(), tailnet, engine, p -> {
            sessions.setPolicy(funnel == null ? p : funnel.wrap(p));
            if (funnel == null) warnFunnelWithoutIngress(p);
            if (regs[0] != null && !workers.isShutdown()) workers.execute(() -> regs[0].routes().applyAll());
        });
        this.registrations = new Registrations(tailnet, ips, nodes, config, policy::compiled);
        registrations.metrics(metrics);
        sessions.metrics(metrics);
        policy.metrics(metrics);
        store.observe((kind, nanos) -> metrics.dbOperationSeconds.labelValues(kind).observe(nanos / 1e9));
        regs[0] = registrations;
        // Headscale's /bootstrap-dns: the DERP map's host names, resolved off the request path.
        this.bootstrapDns = config.derp().server().enabled() ? new BootstrapDns(this::derpHostNames) : null;
        this.sshActions = new dev.lattice.control.sshcheck.SshActions(tailnet, policy::packetPolicy, config.serverUrl(), clock);
        this.frontRoutes = new FrontRoutes(noiseKey.publicKey(), tailnet, bootstrapDns);
        if (config.oidc().enabled()) {
            this.oidcProvider = new dev.lattice.control.oidc.OidcProvider(config.oidc(), config.serverUrl(), clock);
            this.oidcLogin = new dev.lattice.control.oidc.OidcLogin(oidcProvider, registrations, tailnet, config.serverUrl(), clock);
            oidcLogin.sshChecks(sshActions);
            registrations.loginAtIdentityProvider(true);
        } else {
            this.oidcProvider = null;
            this.oidcLogin = null;
        }
        this.adminApi = new AdminApi(tailnet, registrations, nodes, policy); // admin
        adminApi.sshChecks(sshActions);
        this.setDns = new SetDnsRequests(tailnet, nodes, acmeChallenges, config.dns().certificates());
        if (funnel != null) {
            sessions.setPolicy(funnel.wrap(dev.lattice.control.netmap.PacketPolicy.ALLOW_ALL));
            funnel.follow(sessions::setPolicy);
        }
        this.changeFollower = store.changes().enabled()
                ? new ChangeFollower(store, tailnet, changesFrom, policy::reloadStored, CHANGE_POLL) : null;
        this.heartbeat = store.changes().enabled()
                ? new dev.lattice.control.replica.ReplicaHeartbeat(store.replicas(), presenceTiming.heartbeat()) : null;
        this.presence = heartbeat != null
                ? new dev.lattice.control.replica.TailnetPresence(store, tailnet, heartbeat, presenceTiming) : null;
        if (changeFollower != null) {
            changeFollower.onSessions(presence::sessionsChanged);
            changeFollower.onRegistrations(registrations::answeredElsewhere);
        }
    }

    private volatile boolean warnedFunnel;

    /**
     * The policy's nodeAttrs give {@code funnel} but the config has no {@code funnel} section: those nodes' Funnel
     * would go nowhere (no ingress, no public names). Said once, when a policy first does it.
     */
    private void warnFunnelWithoutIngress(dev.lattice.control.netmap.PacketPolicy p) {
        if (warnedFunnel) return;
        for (dev.lattice.control.store.TailnetNode n : tailnet.nodes()) {
            if (p.nodeAttrs(n).contains(dev.lattice.control.funnel.Funnel.ATTR_FUNNEL)) {
                warnedFunnel = true;
                log.warn("the policy gives node {} (and maybe others) the funnel attribute, but the config has no funnel section: "
                        + "Funnel has no ingress and its names do not resolve; configure funnel.ingress_tag and funnel.addresses",
                        n.givenName());
                return;
            }
        }
    }

    /** Opens the store, loads keys, and starts listening. */
    public static ControlServer start(ControlConfig config) throws Exception {
        return start(config, Clock.systemUTC());
    }

    public static ControlServer start(ControlConfig config, Clock clock) throws Exception {
        return start(config, clock, PolicyManager.hujson(config.serverUrl().toString()));
    }

    /** With another policy engine (tests). */
    public static ControlServer start(ControlConfig config, Clock clock, PolicyManager.Engine engine) throws Exception {
        LogSettings.apply(config.log());
        for (String k : config.unsupportedKeys()) log.warn("config key {} is accepted but not implemented by Lattice yet", k);
        for (String w : config.warnings()) log.warn("config: {}", w);
        Store store = Store.open(config.database(), clock);
        ControlServer s;
        try {
            s = new ControlServer(config, store, clock, engine);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        try {
            s.discoverOidc();
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        try {
            s.policy.start();
        } catch (PolicyException | RuntimeException e) {
            s.close();
            throw e;
        }
        try {
            if (s.heartbeat != null) s.heartbeat.start();
            if (s.presence != null) s.presence.start();
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        if (s.changeFollower != null) s.changeFollower.start();
        try {
            s.startListeners();
        } catch (Exception e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * Headscale's start: the identity provider's discovery document is fetched now; when that fails the server stops
     * if {@code oidc.only_start_if_oidc_is_available} (Headscale's default), else it starts and tries again at the
     * next login.
     */
    private void discoverOidc() {
        if (oidcProvider == null) return;
        try {
            oidcProvider.discover();
        } catch (dev.lattice.control.oidc.OidcProvider.Unavailable e) {
            if (config.oidc().onlyStartIfOidcIsAvailable()) {
                throw new dev.lattice.control.config.ConfigException("oidc: " + e.getMessage()
                        + "; not starting because oidc.only_start_if_oidc_is_available is true");
            }
            log.warn("OIDC: {}; starting anyway (oidc.only_start_if_oidc_is_available is false), logins will retry", e.getMessage());
        }
    }

    private void startListeners() throws Exception {
        ControlConfig.DerpServer d = config.derp().server();
        if (d.enabled()) {
            NodePrivateKey derpKey;
            DerpServerOptions opts = DerpServerOptions.defaults();
            if (store.isPostgres()) {
                // Replicas: each its own server key and one mesh key, all derived from the key they share.
                NodePrivateKey shared = SharedKeys.derpKey(store, d.privateKeyPath());
                derpKey = DerpIdentity.serverKey(shared, config.derpUrl());
                opts = opts.withMeshKey(DerpIdentity.meshKey(shared));
            } else {
                derpKey = KeyFiles.loadOrCreateNodeKey(d.privateKeyPath());
            }
            if (d.verifyClients()) {
                opts = opts.withVerifier((key, source) -> CompletableFuture.completedFuture(frontRoutes.admits(key)));
            }
            derp = new DerpServer(derpKey, opts);
            if (d.stunEnabled() && d.stunListenAddr() != null) {
                stun = StunServer.start(d.stunListenAddr().toSocketAddress());
            }
        }
        SslContext ssl = null;
        if (config.tls() != null && config.tls().certPath() != null) {
            ssl = SslContextBuilder.forServer(config.tls().certPath().toFile(), config.tls().keyPath().toFile()).build();
        }
        registerMetrics();
        if (extraRecords != null) {
            extraRecords.start(records -> {
                dnsConfig = DnsConfigs.build(config.dns(), records);
                tailnet.announceDns();
            });
        }
        // With replicas an ephemeral node is deleted only if the database agrees no replica holds its stream.
        Housekeeping upkeep = presence == null ? new Housekeeping(tailnet, config.node().ephemeralInactivityTimeout())
                : new Housekeeping(tailnet, config.node().ephemeralInactivityTimeout(),
                        id -> !store.sessions().onlineAnywhere(id, presence.timing().lapse()));
        housekeeping.scheduleWithFixedDelay(upkeep, 5, 5, TimeUnit.SECONDS);
        if (bootstrapDns != null) {
            housekeeping.scheduleWithFixedDelay(() -> workers.execute(bootstrapDns::refresh), 0, 10, TimeUnit.MINUTES);
        }
        if (DerpMaps.refreshes(config)) {
            long every = config.derp().updateFrequency().toMillis();
            // The fetch may take a while: on a worker, never two at once, so housekeeping is not held up.
            java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean();
            housekeeping.scheduleWithFixedDelay(() -> {
                if (!running.compareAndSet(false, true)) return;
                workers.execute(() -> {
                    try {
                        refreshDerpMap();
                    } catch (RuntimeException e) {
                        log.warn("DERP map refresh failed: {}", e.toString());
                    } finally {
                        running.set(false);
                    }
                });
            }, every, every, TimeUnit.MILLISECONDS);
        }
        if (config.dns().certificates()) {
            housekeeping.scheduleWithFixedDelay(() -> acmeChallenges.purge(tailnet.now()), 1, 1, TimeUnit.MINUTES);
        }
        startAuthoritativeDns();
        MachineService machine = machineService(registrations, new MapRequests(tailnet, registrations.routes(), sessions), setDns,
                sshActions);
        Ts2021Upgrader upgrader = new Ts2021Upgrader(noiseKey, CapabilityVersion.MINIMUM_SUPPORTED, guard.limits(),
                session -> new MachineStreamHandler(session, machine, workers), metrics::request);
        AdminRoutes adminRoutes = new AdminRoutes(adminApi);
        http = ControlHttpServer.start(config.listenAddr().toSocketAddress(), guard,
                new ControlHttpServer.Service(ssl, derp == null ? null : derp.httpHandler(), upgrader, routes(adminRoutes),
                        uploads(adminRoutes), metrics::request),
                Math.max(2, Runtime.getRuntime().availableProcessors()));
        if (config.metricsListenAddr() != null) {
            // Same guard: the two listeners share the process's file descriptors and each address's cap.
            metricsHttp = ControlHttpServer.start(config.metricsListenAddr().toSocketAddress(), guard,
                    ControlHttpServer.Service.routes(metrics.routes(), metrics::request), 1);
            log.info("metrics on http://{}/metrics", IpPrefix.hostPort(metricsHttp.localAddress()));
        }
        if (config.node().haProbes().enabled()) {
            routeProbes = new RouteProbes(tailnet, nodes, sessions, config.node().haProbes());
            routeProbes.start();
        }
        if (derp != null && store.isPostgres()) {
            // Once /derp answers: the others may link with this replica from its first heartbeat on.
            derpMesh = new DerpMesh(store.replicas(), heartbeat, derp, config.derpUrl(), DerpMaps.embeddedNode(config),
                    () -> workers.execute(this::refreshDerpMapQuietly), DerpMesh.LAPSE);
            derpMaps.embeddedNodes(derpMesh::nodes);
            derpMesh.start();
        }
        String addr = IpPrefix.hostPort(http.localAddress());
        log.atInfo().setMessage("lattice-control listening on {} (server_url {}){}").addArgument(addr).addArgument(config.serverUrl())
                .addArgument(derp != null ? ", embedded DERP region " + d.regionId() + " at /derp" : "")
                .addKeyValue("addr", addr).addKeyValue("server_url", config.serverUrl().toString()).log();
        // admin: the CLI's socket, after the listeners so a started CLI finds a working server
        adminSocket = AdminSocket.start(config.unixSocket(), config.unixSocketPermission(),
                config.unixSocketPermissionSet(), adminApi);
        String mode = Integer.toOctalString(config.unixSocketPermission());
        log.atInfo().setMessage("admin socket listening on {} (mode {})").addArgument(adminSocket.path()).addArgument(mode)
                .addKeyValue("path", adminSocket.path().toString()).addKeyValue("mode", mode).log();
    }

    /** {@code dns.authoritative}: the zone's DNS server, on threads of its own. */
    private void startAuthoritativeDns() throws java.io.IOException {
        ControlConfig.Authoritative a = config.dns().authoritative();
        if (a == null) return;
        Answerer answerer = new Answerer(config.dns().baseDomain(), a.ns(), a.hostmaster(), a.nodeRecords(),
                tailnet.now().getEpochSecond() & 0xffffffffL, new TailnetZone(tailnet, acmeChallenges, setDns,
                        funnel == null ? n -> false : funnel::publishes, funnel == null ? java.util.List.of() : funnel.addresses()));
        authoritativeDns = AuthoritativeDnsServer.start(a.listenAddr().toSocketAddress(), answerer, a.queriesPerSecond(),
                o -> metrics.dnsQueries.labelValues(o.label()).inc());
        String addr = IpPrefix.hostPort(authoritativeDns.localAddress());
        log.atInfo().setMessage("authoritative DNS for {} on {} (UDP and TCP)").addArgument(config.dns().baseDomain())
                .addArgument(addr).addKeyValue("addr", addr).log();
    }

    /** The authoritative DNS server's address (UDP and TCP), or null when it is off. */
    public InetSocketAddress authoritativeDnsAddress() {
        return authoritativeDns == null ? null : authoritativeDns.localAddress();
    }

    /** Loads the DERP map again; when it changed, every connected node is sent the new one. */
    void refreshDerpMap() {
        DERPMap m = derpMaps.load();
        if (m.equals(derpMap)) return;
        derpMap = m;
        log.info("DERP map changed: regions {}", m.regions() == null ? "[]" : m.regions().keySet());
        tailnet.announceDerp();
        if (bootstrapDns != null) bootstrapDns.refresh();
    }

    private void refreshDerpMapQuietly() {
        try {
            refreshDerpMap();
        } catch (RuntimeException e) {
            log.warn("DERP map refresh failed: {}", e.toString());
        }
    }

    private List<String> derpHostNames() {
        DERPMap m = derpMap;
        List<String> names = new java.util.ArrayList<>();
        if (m != null && m.regions() != null) {
            for (var r : m.regions().values()) {
                if (r.nodes() == null) continue;
                for (var n : r.nodes()) if (n.hostName() != null) names.add(n.hostName());
            }
        }
        return names;
    }

    /** What /bootstrap-dns answers (null without the embedded DERP). */
    public BootstrapDns bootstrapDns() {
        return bootstrapDns;
    }

    /** The DERP map nodes get now. */
    public DERPMap derpMap() {
        return derpMap;
    }

    /** Limits for strangers, from the {@code limits} section and {@code trusted_proxies}. */
    static Limits limits(ControlConfig config) {
        List<IpPrefix> proxies = config.trustedProxies();
        Limits.Builder b = Limits.builder()
                .maxAnonymousPerSource(config.limits().maxConnectionsPerIp())
                .requestTimeout(config.limits().requestTimeout())
                .trustedProxy(a -> proxies.stream().anyMatch(p -> p.contains(a)));
        if (config.limits().maxConnections() > 0) b.maxConnections(config.limits().maxConnections());
        return b.build();
    }

    /** The {@code /machine/*} endpoints' work: registration ({@link Registrations}), map requests, set-dns. */
    private static MachineService machineService(Registrations registrations, MapRequests maps, SetDnsRequests setDns,
                                                 dev.lattice.control.sshcheck.SshActions sshActions) {
        return new MachineService() {
            @Override
            public CompletionStage<RegisterResponse> register(ControlSession session, RegisterRequest request) {
                return registrations.register(session.machineKey(), request);
            }

            @Override
            public void map(ControlSession session, MapRequest request, MapSink sink) {
                maps.map(session, request, sink);
            }

            @Override
            public void setDns(ControlSession session, SetDNSRequest request) {
                setDns.setDns(session.machineKey(), request);
            }

            @Override
            public Object sshAction(ControlSession session, long src, long dst, String authId) throws InterruptedException {
                return sshActions.action(session.machineKey(), src, dst, authId);
            }
        };
    }

    /**
     * Admin uploads larger than a stranger may send (a policy through {@code PUT /api/v1/policy}) are let in only
     * after the API key in their head checked out (off the event loop), before their body is read.
     */
    private BodyLimiter.UploadGate uploads(LargeBodies large) {
        return head -> large.mayBeLarge(head) ? CompletableFuture.supplyAsync(() -> large.limit(head), workers) : null;
    }

    /** Front routes first, then the REST admin API under /api/v1 (API-key authenticated). */
    private Routes routes(Routes admin) {
        Routes front = frontRoutes;
        Routes oidc = oidcLogin;
        return req -> {
            var r = oidc == null ? null : oidc.handle(req);
            if (r == null) r = front.handle(req);
            return r != null ? r : admin.handle(req);
        };
    }

    private void registerMetrics() {
        metrics.gauge("lattice_nodes", "Registered nodes", () -> tailnet.nodes().size());
        metrics.gauge("lattice_nodes_online", "Nodes with an open map stream (on any replica)",
                () -> tailnet.nodes().stream().filter(n -> tailnet.isOnline(n.id())).count());
        metrics.gauge("lattice_map_sessions", "Open map streams (on this replica)", sessions::size);
        metrics.gauge("lattice_users", "Users", () -> tailnet.users().size());
        metrics.counter("lattice_db_write_transactions", "Database write transactions begun (committed or rolled back)",
                store::writeTransactions);
        if (derp != null) DerpMetrics.register(metrics.metrics(), derp);
        if (derp != null && store.isPostgres()) {
            metrics.gauge("lattice_derp_mesh_peers", "Replicas this one's DERP server is meshed with",
                    () -> derpMesh == null ? 0 : derpMesh.peers().size());
        }
        if (stun != null) DerpMetrics.register(metrics.metrics(), stun);
        GuardMetrics.register(metrics.metrics(), guard, "lattice_http");
    }

    /** Connection and body accounting of the listeners. */
    public ConnectionGuard guard() {
        return guard;
    }

    public ControlMetrics metrics() {
        return metrics;
    }

    /** admin: the operations behind the CLI and the REST API ({@code new AdminRoutes(adminApi())}). */
    public AdminApi adminApi() {
        return adminApi;
    }

    /** admin: the local socket the CLI talks to. */
    public AdminSocket adminSocket() {
        return adminSocket;
    }

    public ControlConfig config() {
        return config;
    }

    /** The metrics listener's address, or null when metrics are off. */
    public InetSocketAddress metricsAddress() {
        return metricsHttp == null ? null : metricsHttp.localAddress();
    }

    public InetSocketAddress httpAddress() {
        return http.localAddress();
    }

    public Tailnet tailnet() {
        return tailnet;
    }

    public PolicyManager policy() {
        return policy;
    }

    public Registrations registrations() {
        return registrations;
    }

    /** The DNS config nodes get now. */
    public DNSConfig dnsConfig() {
        return dnsConfig;
    }

    public MapSessions sessions() {
        return sessions;
    }

    public TailcfgNodes nodes() {
        return nodes;
    }

    public Store store() {
        return store;
    }

    public MachinePrivateKey noiseKey() {
        return noiseKey;
    }

    public DerpServer derp() {
        return derp;
    }

    /** The replicas' DERP region and mesh links (PostgreSQL with the embedded DERP), or null. */
    public DerpMesh derpMesh() {
        return derpMesh;
    }

    /** What follows the other replicas' writes (PostgreSQL), or null on SQLite. */
    public ChangeFollower changeFollower() {
        return changeFollower;
    }

    /** This replica's heartbeat (PostgreSQL), or null on SQLite. */
    public dev.lattice.control.replica.ReplicaHeartbeat heartbeat() {
        return heartbeat;
    }

    /** Online status across the replicas (PostgreSQL), or null on SQLite. */
    public dev.lattice.control.replica.TailnetPresence presence() {
        return presence;
    }

    @Override
    public void close() {
        closeQuietly(derpMesh); // first: its DERP server leaves its row, so the other replicas unlink at once
        closeQuietly(changeFollower);
        closeQuietly(presence);
        closeQuietly(heartbeat); // its row and sessions go
        closeQuietly(adminSocket); // admin
        closeQuietly(routeProbes);
        closeQuietly(http);
        closeQuietly(metricsHttp);
        closeQuietly(policy);
        closeQuietly(extraRecords);
        housekeeping.shutdownNow();
        closeQuietly(sessions);
        closeQuietly(derp);
        closeQuietly(stun);
        closeQuietly(authoritativeDns);
        workers.shutdownNow();
        closeQuietly(store);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception e) {
            log.warn("closing {} failed: {}", c.getClass().getSimpleName(), e.toString());
        }
    }
}
