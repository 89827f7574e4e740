package dev.lattice.agent.daemon;

import dev.lattice.agent.control.ControlClient;
import dev.lattice.agent.dns.MagicDns;
import dev.lattice.agent.dns.MagicDnsConfig;
import dev.lattice.agent.dns.DnsConfigurator;
import dev.lattice.agent.dns.ExitNodeDns;
import dev.lattice.agent.engine.Engine;
import dev.lattice.agent.engine.EngineConfig;
import dev.lattice.agent.filter.LocalNets;
import dev.lattice.agent.filter.PacketFilter;
import dev.lattice.agent.health.Health;
import dev.lattice.agent.ipn.AdvertiseRoutes;
import dev.lattice.agent.ipn.Backend;
import dev.lattice.agent.ipn.BackendException;
import dev.lattice.agent.ipn.ExitNodes;
import dev.lattice.agent.ipn.MaskedPrefs;
import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.ipn.NetcheckReport;
import dev.lattice.agent.ipn.PeerStatus;
import dev.lattice.agent.ipn.PingResult;
import dev.lattice.agent.ipn.Status;
import dev.lattice.agent.ipn.UpRequest;
import dev.lattice.agent.ipn.UpResult;
import dev.lattice.agent.ipn.WhoIsResponse;
import dev.lattice.agent.localapi.LocalApiServer;
import dev.lattice.agent.magicsock.DiscoveredEndpoint;
import dev.lattice.agent.magicsock.MagicSock;
import dev.lattice.agent.magicsock.WarmUpLink;
import dev.lattice.agent.netcheck.Netcheck;
import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.agent.peerapi.DnsProxyPolicy;
import dev.lattice.agent.peerapi.DnsQueryHandler;
import dev.lattice.agent.peerapi.PeerApiRoutes;
import dev.lattice.agent.peerapi.PeerApiServer;
import dev.lattice.agent.peerapi.PeerApiServices;
import dev.lattice.agent.router.IpForwarding;
import dev.lattice.agent.router.Router;
import dev.lattice.agent.system.AgentSystem;
import dev.lattice.agent.system.HostEnv;
import dev.lattice.agent.state.Prefs;
import dev.lattice.agent.state.StateStore;
import dev.lattice.agent.tstun.FilteringTun;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.NetPortRange;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.PortRange;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.tailcfg.UserProfile;
import dev.lattice.wireguard.device.Device;
import dev.lattice.wireguard.device.Peer;
import dev.lattice.wireguard.tun.TunDevice;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's backend (tailscale's {@code LocalBackend}): owns the data plane (TUN, WireGuard, magic socket,
 * filter, MagicDNS, routes), which starts at once and keeps running whatever the control server does, and the
 * control client, which runs while the user wants to be up. Each network map from control is applied to the
 * data plane; the local API calls into here.
 */
public final class LocalBackend implements Backend, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LocalBackend.class);
    public static final String VERSION = "0.1.0-lattice";
    static final InetAddress MAGIC_DNS_V4 = IpPrefix.parseAddress("100.100.100.100");

    private final DaemonOptions opts;
    private final AgentSystem sys;
    private final StateStore store;
    private final EventLoopGroup group;
    private final TunDevice rawTun;
    private final FilteringTun tun;
    private final Device device;
    private final MagicSock magicSock;
    private final Router router;
    private final Engine engine;
    private final MagicDns magicDns;
    private final DnsConfigurator osDns;
    private final PeerApiServer peerApi;
    private final dev.lattice.agent.serve.ServeStore serveStore;
    private final dev.lattice.agent.serve.ServeListeners serve;
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();
    private LocalApiServer api;
    private final java.util.concurrent.ScheduledExecutorService ticker =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                    r -> Thread.ofPlatform().daemon().name("latticed-ticker").unstarted(r));
    /**
     * Opens and closes the peer API's and Serve's listeners, in order, off the netmap's path: a first bind and the
     * Hostinfo update it sends are 10-30 ms of cold code that an {@code up} need not wait for (tailscaled binds its
     * peer API in microseconds). down and logout wait for their close, so nothing listens once they return.
     */
    private final java.util.concurrent.ExecutorService listeners =
            java.util.concurrent.Executors.newSingleThreadExecutor(Thread.ofVirtual().name("latticed-listeners").factory());
    private java.util.Set<InetAddress> hostAddrs;
    private volatile boolean dnsApplied;

    private final Object lock = new Object();
    /** Notified whenever state, authUrl or loginError change. */
    private final Object stateChanged = new Object();
    private ControlClient control;
    private volatile BackendState state = BackendState.NoState;
    private final Health health = new Health(java.time.Clock.systemUTC());
    private volatile String authUrl;
    /** The control server's refusal of the current login (final until the next up), or null. */
    private volatile String loginError;
    private volatile NetworkMap netmap;
    private PacketFilter filter;
    private volatile boolean closed;
    private final boolean derpHttpForced;
    private volatile List<dev.lattice.wire.tailcfg.Service> services = List.of();
    private volatile EngineConfig.ExitNode exitNode;
    private final List<Consumer<Optional<EngineConfig.ExitNode>>> exitNodeListeners = new CopyOnWriteArrayList<>();
    /**
     * Milestones of the current {@code up} (System.nanoTime; 0: none), for one log line when it reaches Running:
     * where an up's time went (login, first netmap, applying it).
     */
    private volatile long upStart;
    /** When the current up was asked for (System.nanoTime; 0: none), and how long its prefs took to reach the disk. */
    private volatile long upAsked;
    private volatile long upSaveNanos = -1;
    /** Set by the first real login (an up, or a restart that reconnects): the warm-up leaves that path to it. */
    private volatile boolean controlStarted;
    private volatile long upLoggedIn;
    private volatile long upFirstMap;

    private LocalBackend(DaemonOptions opts, AgentSystem sys) throws IOException {
        this.opts = opts;
        this.sys = sys;
        Files.createDirectories(opts.stateDir());
        this.store = StateStore.open(opts.stateDir());
        this.group = new MultiThreadIoEventLoopGroup(1, sys.sockets().ioHandler());
        try {
            this.rawTun = sys.tuns().open(opts.tun(), DaemonOptions.MTU);
        } catch (IOException e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS); // nothing else is open yet
            throw new IOException("cannot create the TUN device " + opts.tun() + ": " + e.getMessage()
                    + " (latticed needs /dev/net/tun and CAP_NET_ADMIN)", e);
        }
        this.tun = new FilteringTun(rawTun);
        this.device = new Device(tun, sys.udp(), sys.clock());
        device.setListenPort(opts.port());
        device.setPrivateKey(store.state().nodeKey());
        device.start();
        if (sys.sockets().udpMark() != 0) {
            try {
                // WireGuard's packets (and disco, STUN) must never be routed into the tunnel they carry.
                device.setFwmark(sys.sockets().udpMark());
            } catch (IOException e) {
                log.warn("could not mark the WireGuard socket (SO_MARK needs CAP_NET_ADMIN); an exit node would take its"
                        + " packets too: {}", e.getMessage());
            }
        }
        this.magicSock = new MagicSock(device, store.state().nodeKey(), DiscoPrivateKey.generate(), group, new MagicSock.Listener() {
            @Override
            public void endpointsChanged(List<DiscoveredEndpoint> endpoints) {
                ControlClient c = control;
                if (c != null) sendEndpoints(c, endpoints);
            }

            @Override
            public void homeDerpChanged(int regionId) {
                ControlClient c = control;
                if (c != null) c.setPreferredDerp(regionId);
            }
        }, sys.magicSock().withDerpDialer(sys.sockets().dialer()), sys.clock());
        this.derpHttpForced = sys.magicSock().derpHttp();
        magicSock.start();
        this.router = sys.routers().open(opts.tun(), DaemonOptions.MTU);
        this.engine = new Engine(device, router);
        this.magicDns = new MagicDns(Duration.ofSeconds(2));
        tun.setDns(magicDns::handle);
        this.osDns = sys.resolvers().open(opts.stateDir());
        this.peerApi = newPeerApi();
        this.serveStore = dev.lattice.agent.serve.ServeStore.open(opts.stateDir());
        this.serve = new dev.lattice.agent.serve.ServeListeners(new ServeEnv());
        peerApi.ingress(serve.ingress());
        device.terminated().thenRun(() -> {
            if (!closed) {
                log.error("TUN {} went away; stopping", opts.tun());
                close();
            }
        });
    }

    /** Made at the first scrape of {@code usermetrics} (Prometheus and its JVM collectors: ~200 classes). */
    private dev.lattice.metrics.Metrics userMetrics;
    /** Added to the user metrics when they are made (latticed's Funnel ingress counters). */
    private final java.util.List<java.util.function.Consumer<dev.lattice.metrics.Metrics>> metricsAdditions =
            new java.util.ArrayList<>();

    /** Runs {@code add} on the user metrics: now if they exist, else when the first scrape makes them. */
    public synchronized void addUserMetrics(java.util.function.Consumer<dev.lattice.metrics.Metrics> add) {
        if (userMetrics != null) add.accept(userMetrics);
        else metricsAdditions.add(add);
    }

    private synchronized dev.lattice.metrics.Metrics userMetrics() {
        if (userMetrics != null) return userMetrics;
        userMetrics = newUserMetrics();
        metricsAdditions.forEach(add -> add.accept(userMetrics));
        metricsAdditions.clear();
        return userMetrics;
    }

    private dev.lattice.metrics.Metrics newUserMetrics() {
        MagicSock.Stats s = magicSock.stats;
        return UserMetrics.create(new UserMetrics.Sources(s.derpDataReceivedPackets::sum, s.derpDataReceivedBytes::sum,
                s.derpDataSentPackets::sum, s.derpDataSentBytes::sum, tun::droppedInbound,
                () -> device.stats.sendFailed.sum() + device.stats.noEndpoint.sum(), magicSock::homeDerp,
                () -> health.warnings().size(),
                () -> device.peers().stream().mapToLong(p -> p.rxBytes()).sum(),
                () -> device.peers().stream().mapToLong(p -> p.txBytes()).sum()));
    }

    /** Starts the data plane and local API, then reconnects to control if the user was up. Never fails because a remote service is down. */
    public static LocalBackend start(DaemonOptions opts) throws IOException {
        return start(opts, AgentSystem.linux());
    }

    /** As {@link #start(DaemonOptions)}, on {@code sys} (tests give fakes of the host's parts). */
    public static LocalBackend start(DaemonOptions opts, AgentSystem sys) throws IOException {
        LocalApiServer.refuseLive(opts.socket());
        LocalBackend b = new LocalBackend(opts, sys);
        try {
            b.api = LocalApiServer.start(opts.socket(), b, LocalApiServer.Options.defaults().withDerpMap(() -> {
                NetworkMap nm = b.netmap;
                return nm == null ? null : nm.derpMap();
            }).withUserMetrics(b::userMetrics).withCli(dev.lattice.agent.cli.QuickCli::accept));
            b.ticker.scheduleWithFixedDelay(b::tick, 2, 2, TimeUnit.SECONDS);
            // The first up's cold code (JSON, netmap, the control login, the CLI route) runs now, while nobody waits for it.
            Path socket = b.api.path();
            Thread.ofVirtual().name("latticed-warmup").start(() -> {
                try {
                    long t0 = System.nanoTime();
                    Warmup.run();
                    long t1 = System.nanoTime();
                    // A real login (an up that came meanwhile, a restart that reconnects) runs that path itself: a
                    // made-up one beside it would only take CPU from it.
                    if (!b.controlStarted) {
                        try {
                            NetworkMap nm = ControlWarmup.run(b.group, sys.sockets().dialer());
                            if (!b.controlStarted) b.warmApply(nm);
                        } catch (Exception e) {
                            log.debug("control login warm-up failed (the first up will be slower): {}", e.toString());
                        }
                    }
                    long t2 = System.nanoTime();
                    dev.lattice.agent.cli.CliMain.warmDaemon(socket);
                    long t3 = System.nanoTime();
                    // Last, when C2's queue is short again: a first transfer then runs compiled code (see Device).
                    if (b.rawTun.vnetHdr()) {
                        long n = b.device.warmUpLoopback(LocalBackend::warmUpTun, new WarmUpLink(b.group),
                                () -> b.state == BackendState.Starting);
                        log.info("data path warm-up: {} MB each way over loopback in {} ms", n >> 20, ms(System.nanoTime() - t3));
                    }
                    log.debug("warm-up done in {} ms (code {} ms, control login {} ms, CLI route {} ms, data path {} ms)",
                            ms(System.nanoTime() - t0), ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(System.nanoTime() - t3));
                } catch (Exception e) {
                    log.debug("warm-up failed (the first up will be slower): {}", e.toString());
                }
            });
            var prefs = b.store.prefs();
            b.health.setWantRunning(prefs.wantRunning() && !prefs.loggedOut());
            if (prefs.controlUrl() == null || prefs.loggedOut()) {
                b.setState(BackendState.NeedsLogin, null);
            } else if (!prefs.wantRunning()) {
                b.setState(BackendState.Stopped, null);
            } else {
                // As tailscaled after a restart: NoState until control answers, however long it is unreachable.
                b.startControl(null, false);
            }
            log.info("latticed {} running: tun {}, UDP port {}, socket {}", VERSION, opts.tun(), b.device.listenPort(), opts.socket());
            return b;
        } catch (IOException | RuntimeException e) {
            b.close();
            throw e;
        }
    }

    public void awaitTermination() throws InterruptedException {
        try {
            terminated.get();
        } catch (ExecutionException e) {
            // closed with an error: already logged
        }
    }

    // --- control ------------------------------------------------------------------------------------

    /** @param starting whether to say Starting now (after up) or keep the state until control answers (restore) */
    private void startControl(String authKey, boolean starting) {
        controlStarted = true;
        synchronized (lock) {
            if (control != null) control.close();
            loginError = null;
            var prefs = store.prefs();
            health.loginResult(null);
            if (starting) {
                upStart = System.nanoTime();
                upLoggedIn = 0;
                upFirstMap = 0;
                setState(BackendState.Starting, null);
            }
            magicSock.setDerpHttp(derpHttp());
            var cfg = ControlClient.Config.of(java.net.URI.create(prefs.controlUrl()), store.state().machineKey(),
                    store.state().nodeKey(), magicSock.discoPublicKey(), this::hostinfo).withGroup(group)
                    .withDialer(sys.sockets().dialer());
            try {
                control = ControlClient.start(cfg, new ControlClient.Listener() {
                    @Override
                    public void onState(BackendState s, String url) {
                        // The client says Starting as it begins; before control has answered we do not know yet.
                        if (s == BackendState.Starting && state == BackendState.NoState) return;
                        setState(s, url);
                    }

                    @Override
                    public void onLoginResult(String error) {
                        if (error == null && upStart != 0 && upLoggedIn == 0) upLoggedIn = System.nanoTime();
                        health.loginResult(error);
                    }

                    @Override
                    public void onMapPoll(boolean polling) {
                        health.mapPoll(polling);
                    }

                    @Override
                    public void onNetworkMap(NetworkMap nm) {
                        if (upStart != 0 && upFirstMap == 0) upFirstMap = System.nanoTime();
                        applyNetworkMap(nm);
                    }

                    @Override
                    public void onError(Throwable error) {
                        if (error instanceof ControlClient.LoginException) {
                            log.warn("control server refused the login: {}", error.getMessage());
                            loginError = error.getMessage();
                            health.loginResult(error.getMessage());
                            signalStateChanged();
                        } else {
                            log.debug("control: {}", error.toString()); // the client logs its retries itself
                        }
                    }
                }, authKey);
            } catch (IOException e) {
                log.warn("starting the control client failed: {}", e.getMessage());
                setState(BackendState.NeedsLogin, null);
                return;
            }
            sendEndpoints(control, magicSock.endpoints());
            if (magicSock.homeDerp() > 0) control.setPreferredDerp(magicSock.homeDerp());
        }
    }

    private static void sendEndpoints(ControlClient c, List<DiscoveredEndpoint> endpoints) {
        List<dev.lattice.wire.tailcfg.AddrPort> eps = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        for (DiscoveredEndpoint e : endpoints) {
            eps.add(e.addr());
            types.add(e.type());
        }
        c.updateEndpoints(eps, types);
    }

    private boolean derpHttp() {
        String server = store.prefs().controlUrl();
        return derpHttpForced || (server != null && server.startsWith("http://"));
    }

    private dev.lattice.wire.tailcfg.Hostinfo hostinfo() {
        return NodeHostinfo.build(VERSION, store.prefs(), sys.host().hostname(), services, serveStore.get());
    }

    /**
     * The services this node offers its peers (Hostinfo.Services, e.g. the peer API's {@code peerapi4} and
     * {@code peerapi6} ports); control hears of a change at once.
     */
    public void setServices(List<dev.lattice.wire.tailcfg.Service> services) {
        this.services = List.copyOf(services);
        ControlClient c = control;
        if (c != null) c.updateHostinfo(hostinfo());
    }

    private void setState(BackendState s, String url) {
        if (s != state) log.info("state {} -> {}", state, s);
        if (s == BackendState.Running) {
            loginError = null;
            health.running();
        }
        state = s;
        authUrl = url;
        signalStateChanged();
    }

    /** Wakes an up waiting for its outcome (state, auth URL or the server's refusal). */
    private void signalStateChanged() {
        synchronized (stateChanged) {
            stateChanged.notifyAll();
        }
    }

    private void applyNetworkMap(NetworkMap nm) {
        if (closed) return;
        long applyStart = System.nanoTime();
        netmap = nm;
        var prefs = resolveExitNodeAndSave(nm);
        updateForwardingHealth(prefs);
        long tPrefs = System.nanoTime();
        magicSock.setDerpMap(nm.derpMap());
        long tDerp = System.nanoTime();
        // A peer whose disco key changed restarted and lost its WireGuard session: start a fresh one at once rather
        // than after ours times out (tailscale's ResetDevicePeer).
        for (NodePublicKey k : magicSock.setPeers(nm.peers())) device.resetSession(k);
        long tPeers = System.nanoTime();
        List<IpPrefix> self = nm.self() == null || nm.self().addresses() == null ? List.of() : nm.self().addresses();
        List<HostEnv.Interface> ifaces = hostInterfaces();
        // Traffic may be for us, for the subnets we offer, or (as an exit node) for the internet; shields up lets
        // only replies to our own connections in (tailscale's NewShieldsUpFilter: no rules).
        List<IpPrefix> localNets = LocalNets.of(self, prefs.advertisedPrefixes(), ifaces);
        PacketFilter f = PacketFilter.compile(prefs.shieldsUp() ? List.of() : nm.packetFilter(), localNets, filter); // keeps the flows of replies we await
        filter = f;
        tun.setFilter(f);
        MagicDnsConfig dns = MagicDnsConfig.from(nm, exitNodeDns(nm));
        boolean useDns = prefs.acceptDns() && nm.dns() != null;
        try {
            // Names we don't serve go where the host sent them before we took over its resolv.conf.
            dns = dns.withDefaultUpstream(osDns.originalNameservers());
        } catch (IOException e) {
            log.debug("reading the host's nameservers: {}", e.getMessage());
        }
        magicDns.setConfig(dns);
        long tDns = System.nanoTime();
        EngineConfig ec = engine.apply(nm, engineOptions(prefs, ifaces));
        setExitNode(ec.exitNode());
        long tEngine = System.nanoTime();
        openListeners(nm);
        long tPeerApi = System.nanoTime();
        try {
            if (useDns) {
                osDns.apply(List.of(MAGIC_DNS_V4), dns.searchDomains());
                dnsApplied = true;
            } else {
                restoreDns();
            }
        } catch (IOException e) {
            log.warn("could not point the host's DNS at MagicDNS: {}", e.getMessage());
        }
        if (log.isDebugEnabled()) {
            long end = System.nanoTime();
            log.debug("netmap applied in {} ms: prefs {}, DERP map {}, peers {}, filter and MagicDNS {}, engine {}, peer API {}, host DNS {}",
                    ms(end - applyStart), ms(tPrefs - applyStart), ms(tDerp - tPrefs), ms(tPeers - tDerp), ms(tDns - tPeers),
                    ms(tEngine - tDns), ms(tPeerApi - tEngine), ms(end - tPeerApi));
        }
        if (state == BackendState.Starting || state == BackendState.NeedsLogin) {
            setState(BackendState.Running, null);
            logUpTimes(applyStart);
        }
    }

    /**
     * What applying a first netmap reads and computes, on the warm-up's made-up one: the prefs an up asks for, the
     * host's interfaces and nameservers, the packet filter, the MagicDNS and engine configs, a Hostinfo with the peer
     * API's services. Cold, these were 10-40 ms of a first up's apply. Changes nothing on the host or the device.
     */
    void warmApply(NetworkMap nm) throws IOException, BackendException {
        Prefs prefs = checked(Prefs.defaults(), new UpRequest("http://127.0.0.1:1", null, "warmup", List.of(), false, false,
                false, List.of(), null, null, null, null).prefsChange());
        List<HostEnv.Interface> ifaces = hostInterfaces();
        List<IpPrefix> self = nm.self().addresses();
        PacketFilter.compile(nm.packetFilter(), LocalNets.of(self, prefs.advertisedPrefixes(), ifaces), null);
        MagicDns.reverseNames(MagicDnsConfig.from(nm, ExitNodeDns.NONE).withDefaultUpstream(osDns.originalNameservers()));
        EngineConfig.from(nm, engineOptions(prefs, ifaces), java.time.Instant.now());
        List<dev.lattice.wire.tailcfg.Service> services = List.of(new dev.lattice.wire.tailcfg.Service("peerapi4", 1, null),
                new dev.lattice.wire.tailcfg.Service("peerapi6", 1, null));
        Tailcfg.json().writeValueAsBytes(NodeHostinfo.build(VERSION, prefs, sys.host().hostname(), services, serveStore.get()));
    }

    /** What the prefs and the host's interfaces ask of the data plane (one place for the apply and its warm-up). */
    private static EngineConfig.Options engineOptions(Prefs prefs, List<HostEnv.Interface> ifaces) {
        return new EngineConfig.Options(prefs.acceptRoutes(), prefs.exitNodeId(), prefs.usesExitNode(),
                prefs.exitNodeAllowLanAccess(), prefs.advertisedPrefixes(), !prefs.noSnat(), ifaces);
    }

    private void logUpTimes(long applyStart) {
        long start = upStart;
        if (start == 0) return;
        upStart = 0;
        long now = System.nanoTime();
        long asked = upAsked;
        long save = upSaveNanos;
        String saved = asked == 0 || save < 0 ? "?" : Long.toString(ms(save));
        upAsked = 0;
        upSaveNanos = -1;
        log.info("up: Running after {} ms (prefs saved in {} ms beside the login, logged in after {} ms, first netmap {} ms,"
                        + " applied in {} ms)",
                ms(now - (asked != 0 && asked <= start ? asked : start)), saved,
                upLoggedIn == 0 ? "?" : ms(upLoggedIn - start), upFirstMap == 0 ? "?" : ms(upFirstMap - start), ms(now - applyStart));
    }

    /**
     * The data path warm-up's TUN as this daemon's own is: behind a {@link FilteringTun} with a packet filter and a
     * MagicDNS handler, so the filter's per-packet code (outbound tracking, inbound checks, DNS interception) is
     * compiled before the first real transfer rather than during it, and the device's calls into its TUN see the type
     * real traffic brings. The warm-up's packets are established TCP between its two made-up addresses, which a filter
     * passes as tailscale's does; the rule would admit their SYNs too.
     */
    static TunDevice warmUpTun(TunDevice tun) {
        List<String> addrs = dev.lattice.wireguard.device.Device.WARM_UP_ADDRESSES;
        FilterRule all = new FilterRule(addrs, null, List.of(new NetPortRange("*", null, new PortRange(0, 65535))), null, null);
        FilteringTun f = new FilteringTun(tun);
        f.setFilter(PacketFilter.compile(List.of(all), addrs.stream().map(IpPrefix::parse).toList()));
        // MagicDNS interception looks at every packet the host sends, as on the real TUN (none of these is DNS).
        f.setDns(query -> CompletableFuture.completedFuture(null));
        return f;
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    // --- Backend ------------------------------------------------------------------------------------

    /** How long an up waits for its outcome (Running, an auth URL, a refusal) before it answers with the state it has. */
    static final Duration UP_WAIT = Duration.ofSeconds(10);

    @Override
    public UpResult up(UpRequest req) throws BackendException {
        return up(req, UP_WAIT);
    }

    @Override
    public UpResult up(UpRequest req, Duration wait) throws BackendException {
        long asked = System.nanoTime();
        if (req.loginServer() != null && !req.loginServer().matches("https?://.+")) {
            throw new BackendException(400, "--login-server must be an http:// or https:// URL, got " + req.loginServer());
        }
        synchronized (lock) {
            Prefs base = req.reset() ? Prefs.defaults() : store.prefs();
            Prefs next = checked(base, req.prefsChange()).withWantRunning(true).withLoggedOut(false);
            if (req.loginServer() != null) next = next.withControlUrl(req.loginServer());
            if (req.advertiseTags() != null) next = next.withAdvertiseTags(req.advertiseTags());
            if (next.controlUrl() == null) throw new BackendException(400, "no --login-server given and none saved");
            boolean serverChanged = req.loginServer() != null && !req.loginServer().equals(store.prefs().controlUrl());
            // In memory now, on disk below: the login does not wait for the disk's fsyncs (7-60 ms), the answer does.
            Prefs staged = next;
            store.stagePrefs(p -> staged);
            upAsked = asked;
            upSaveNanos = -1;
            health.setWantRunning(true);
            boolean running = control != null && state == BackendState.Running && !serverChanged && req.authKey() == null;
            if (running) {
                prefsChanged();
            } else {
                startControl(req.authKey(), true);
            }
        }
        long saving = System.nanoTime();
        try {
            store.flush();
        } catch (IOException e) {
            throw new BackendException(500, "saving state: " + e.getMessage());
        }
        upSaveNanos = System.nanoTime() - saving;
        // Give control a moment so the common cases answer with their final state (Running, an auth URL, or the
        // server's refusal), the moment it is known.
        long end = System.nanoTime() + Math.min(wait.toNanos(), UP_WAIT.toNanos());
        synchronized (stateChanged) {
            long left;
            while ((left = end - System.nanoTime()) > 0 && state != BackendState.Running && authUrl == null && loginError == null) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(stateChanged, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        String refused = loginError;
        return new UpResult(refused != null ? BackendState.NeedsLogin : state, refused != null ? null : authUrl, refused);
    }

    @Override
    public Prefs prefs() {
        return store.prefs();
    }

    @Override
    public Prefs editPrefs(MaskedPrefs change) throws BackendException {
        synchronized (lock) {
            Prefs next = checked(store.prefs(), change);
            save(next);
            if (store.prefs().wantRunning()) prefsChanged();
            return store.prefs();
        }
    }

    @Override
    public String checkIpForwarding(List<String> routes) throws BackendException {
        List<IpPrefix> prefixes;
        try {
            prefixes = routes.stream().map(IpPrefix::parse).toList();
        } catch (IllegalArgumentException e) {
            throw new BackendException(400, e.getMessage());
        }
        try {
            IpForwarding.Warning w = IpForwarding.check(prefixes, sys.host());
            return w == null ? null : w.message();
        } catch (IOException e) {
            return e.getMessage();
        }
    }

    /**
     * {@code cur} with {@code change}, checked as a whole before anything is saved (tailscale's checkPrefs plus the
     * CLI's exit node checks, for callers of the local API that are not our CLI), with the exit node chosen by
     * address resolved to its ID when the netmap has it.
     */
    private Prefs checked(Prefs cur, MaskedPrefs change) throws BackendException {
        Prefs next = change.applyTo(cur);
        try {
            next = next.withAdvertiseRoutes(AdvertiseRoutes.check(next.advertiseRoutes()));
            if (next.usesExitNode() && next.advertisesExitNode()) {
                throw new IllegalArgumentException("Cannot advertise an exit node and use an exit node at the same time.");
            }
            if (change.exitNodeIp() != null && !change.exitNodeIp().isEmpty()) {
                next = next.withExitNode(null, ExitNodes.ipOfArg(change.exitNodeIp(), status()));
            }
            NetworkMap nm = netmap;
            if (change.exitNodeId() != null && !change.exitNodeId().isEmpty() && nm != null) {
                Node n = peerByStableId(nm, change.exitNodeId());
                if (n == null) throw new IllegalArgumentException("no node found in netmap with ID " + change.exitNodeId());
                if (!offersExitNode(n)) throw new IllegalArgumentException("node " + change.exitNodeId() + " is not advertising an exit node");
            }
        } catch (IllegalArgumentException e) {
            throw new BackendException(400, e.getMessage());
        }
        return resolveExitNode(next, netmap);
    }

    /** tailscale's resolveExitNodeIP: an exit node chosen by address becomes its stable ID once the netmap has it. */
    static Prefs resolveExitNode(Prefs p, NetworkMap nm) {
        if (p.exitNodeIp() == null || nm == null) return p;
        InetAddress ip = IpPrefix.parseAddress(p.exitNodeIp());
        for (Node n : nm.peers()) {
            if (n.addresses() == null) continue;
            for (IpPrefix a : n.addresses()) {
                if (a.address().equals(ip)) return p.withExitNode(stableId(n), null);
            }
        }
        return p;
    }

    static String stableId(Node n) {
        return EngineConfig.stableId(n);
    }

    static Node peerByStableId(NetworkMap nm, String id) {
        for (Node n : nm.peers()) if (stableId(n).equals(id)) return n;
        return null;
    }

    static boolean offersExitNode(Node n) {
        return EngineConfig.offersExitNode(n);
    }

    /** The host's interfaces other than ours (their LANs), or none when they cannot be read. */
    private List<HostEnv.Interface> hostInterfaces() {
        try {
            return sys.host().interfaces().stream().filter(i -> !i.name().equals(opts.tun())).toList();
        } catch (IOException e) {
            log.warn("reading the host's interfaces: {}", e.getMessage());
            return List.of();
        }
    }

    // --- the exit node in use, for whoever needs it (the peer API's DNS forwarding) ----------------------

    /**
     * The exit node in use: chosen in the prefs, found in the netmap and offering to be one; empty otherwise
     * (none chosen, not found yet, or down). Its WireGuard peer then has 0.0.0.0/0 and ::/0 in its AllowedIPs.
     */
    public Optional<EngineConfig.ExitNode> exitNode() {
        return Optional.ofNullable(exitNode);
    }

    /**
     * Calls {@code l} with the exit node in use each time that changes: another node or none, or a new key or
     * addresses of the same one (on the thread that applied the change). A change of only its Hostinfo does not
     * call it; {@link #exitNode()} always has the latest.
     */
    public void addExitNodeListener(Consumer<Optional<EngineConfig.ExitNode>> l) {
        exitNodeListeners.add(l);
    }

    private void setExitNode(EngineConfig.ExitNode n) {
        EngineConfig.ExitNode old = exitNode;
        exitNode = n;
        if (sameExitNode(old, n)) return;
        log.info("exit node in use: {}", n == null ? "none" : n.stableId() + " " + n.addresses());
        for (var l : exitNodeListeners) {
            try {
                l.accept(Optional.ofNullable(n));
            } catch (RuntimeException e) {
                log.warn("exit node listener failed", e);
            }
        }
    }

    private static boolean sameExitNode(EngineConfig.ExitNode a, EngineConfig.ExitNode b) {
        if (a == null || b == null) return a == b;
        return a.stableId().equals(b.stableId()) && a.key().equals(b.key()) && a.addresses().equals(b.addresses());
    }

    /** The prefs, with an exit node chosen by address turned into its ID (saved) once {@code nm} has it. */
    private Prefs resolveExitNodeAndSave(NetworkMap nm) {
        Prefs p = store.prefs();
        Prefs r = resolveExitNode(p, nm);
        if (r.equals(p)) return p;
        try {
            store.updatePrefs(x -> resolveExitNode(x, nm));
            log.info("exit node {} is node {}", p.exitNodeIp(), r.exitNodeId());
        } catch (IOException e) {
            log.warn("saving the resolved exit node failed: {}", e.getMessage());
        }
        return r;
    }

    private void save(Prefs next) throws BackendException {
        try {
            store.updatePrefs(p -> next);
        } catch (IOException e) {
            throw new BackendException(500, "saving state: " + e.getMessage());
        }
    }

    /** The prefs changed while up: control hears the new Hostinfo, the data plane is set up again. */
    private void prefsChanged() {
        ControlClient c = control;
        if (c != null) c.updateHostinfo(hostinfo());
        NetworkMap nm = netmap;
        if (nm != null) applyNetworkMap(nm);
        else updateForwardingHealth(store.prefs());
    }

    /** The IP forwarding warning while this node offers routes (tailscale's health IP forwarding check). */
    private void updateForwardingHealth(Prefs p) {
        String w = null;
        if (!p.advertiseRoutes().isEmpty()) {
            try {
                IpForwarding.Warning fw = IpForwarding.check(p.advertisedPrefixes(), sys.host());
                w = fw == null ? null : fw.healthText();
            } catch (IOException e) {
                w = null; // tailscale: no false positives when the check itself fails
            }
        }
        health.ipForwarding(w);
    }

    @Override
    public void down() throws BackendException {
        synchronized (lock) {
            try {
                store.updatePrefs(p -> p.withWantRunning(false));
            } catch (IOException e) {
                throw new BackendException(500, "saving state: " + e.getMessage());
            }
            health.setWantRunning(false);
            if (control != null) control.close();
            control = null;
            netmap = null;
            engine.clear();
            closeListeners();
            setExitNode(null);
            magicSock.setPeers(List.of());
            restoreDns();
            setState(BackendState.Stopped, null);
        }
    }

    @Override
    public void logout() throws BackendException {
        synchronized (lock) {
            ControlClient c = control;
            if (c != null) {
                try {
                    c.logout().get(15, TimeUnit.SECONDS);
                } catch (InterruptedException | ExecutionException | TimeoutException e) {
                    log.warn("logout at the control server failed: {}", e.toString());
                }
                c.close();
            }
            control = null;
            try {
                // The node key is kept: the server expired it, and the next up with an auth key re-registers it.
                store.updatePrefs(p -> p.withLoggedOut(true).withWantRunning(false));
            } catch (IOException e) {
                throw new BackendException(500, "saving state: " + e.getMessage());
            }
            health.setWantRunning(false);
            netmap = null;
            engine.clear();
            closeListeners();
            setExitNode(null);
            magicSock.setPeers(List.of());
            restoreDns();
            setState(BackendState.NeedsLogin, null);
        }
    }

    @Override
    public Status status() {
        NetworkMap nm = netmap;
        Map<String, PeerStatus> peers = new TreeMap<>();
        Map<String, Status.UserProfileJson> users = new TreeMap<>();
        PeerStatus self = null;
        Status.ExitNodeStatus exitStatus = null;
        List<String> ips = List.of();
        String suffix = "";
        if (nm == null) {
            // As tailscale: Self is always there; before a netmap, just this host, online while a map poll is open.
            self = new PeerStatus("", "", hostinfo().hostname(), "", "linux", 0, List.of(), List.of(),
                    List.of(), List.of(), List.of(), "", "", 0, 0, null, null, null, health.inMapPoll(), false, false, false, null, false);
        } else {
            self = peerStatus(nm.self(), true);
            ips = self.tailscaleIps();
            suffix = MagicDnsConfig.magicSuffix(nm);
            if (suffix == null) suffix = "";
            if (suffix.endsWith(".")) suffix = suffix.substring(0, suffix.length() - 1);
            String exitId = store.prefs().exitNodeId();
            for (Node p : nm.peers()) {
                if (p.key() == null) continue;
                boolean exit = stableId(p).equals(exitId);
                peers.put(p.key().toString(), peerStatus(p, false).withExitNode(exit));
                if (exit) {
                    exitStatus = new Status.ExitNodeStatus(exitId, Boolean.TRUE.equals(p.online()),
                            p.addresses() == null ? List.of() : p.addresses().stream().map(IpPrefix::toString).toList());
                }
            }
            for (UserProfile u : nm.userProfiles().values()) {
                users.put(Long.toString(u.id()), new Status.UserProfileJson(u.id(), u.loginName(), u.displayName()));
            }
        }
        return new Status(VERSION, state, authUrl, ips, self, health.warnings(), suffix,
                nm == null ? null : new Status.Tailnet(nm.domain() == null ? suffix : nm.domain(), suffix, nm.dns() != null && Boolean.TRUE.equals(nm.dns().proxied())),
                exitStatus, peers, users, nm == null || nm.dns() == null ? null : nm.dns().certDomains());
    }

    private PeerStatus peerStatus(Node n, boolean isSelf) {
        List<String> ips = new ArrayList<>();
        if (n.addresses() != null) for (IpPrefix a : n.addresses()) ips.add(IpPrefix.format(a.address()));
        List<String> allowed = new ArrayList<>();
        if (n.allowedIps() != null) for (IpPrefix a : n.allowedIps()) allowed.add(a.toString());
        List<String> addrs = new ArrayList<>();
        if (n.endpoints() != null) for (var e : n.endpoints()) addrs.add(e.toString());
        String curAddr = "";
        String relay = "";
        long rx = 0, tx = 0;
        Instant handshake = null;
        boolean active = false;
        if (!isSelf && n.key() != null) {
            // null while the engine has not configured this peer yet (the netmap arrives first)
            var path = magicSock.pathOf(n.key());
            if (path != null) {
                curAddr = path.curAddr() == null ? "" : path.curAddr();
                relay = path.relay() == null ? "" : path.relay();
            }
            Peer wp = device.peer(n.key());
            if (wp != null) {
                rx = wp.rxBytes();
                tx = wp.txBytes();
                long hs = wp.lastHandshakeEpochNanos();
                if (hs > 0) {
                    handshake = Instant.ofEpochSecond(0, hs);
                    active = Duration.between(handshake, Instant.now()).toSeconds() < 180;
                }
            }
        } else if (isSelf) {
            relay = regionCode(magicSock.homeDerp());
        }
        var hi = n.hostinfo();
        String host = hi != null && hi.hostname() != null ? hi.hostname() : shortName(n.name());
        String os = hi != null && hi.os() != null ? hi.os() : "";
        // Our own node is online while we hold a map poll (tailscale: Self.Online = in map poll).
        boolean online = isSelf ? health.inMapPoll() : Boolean.TRUE.equals(n.online());
        Instant exp = n.keyExpiry();
        if (exp != null && exp.getEpochSecond() <= 0) exp = null;
        return new PeerStatus(stableId(n),
                n.key() == null ? "" : n.key().toString(), host, n.name() == null ? "" : n.name(), os,
                n.user() == null ? 0 : n.user(), ips, allowed,
                n.primaryRoutes() == null ? List.of() : n.primaryRoutes().stream().map(IpPrefix::toString).toList(), n.tags() == null ? List.of() : n.tags(), addrs, curAddr, relay,
                rx, tx, n.created(), n.lastSeen(), handshake, online, false, !isSelf && offersExitNode(n), active, exp,
                Boolean.TRUE.equals(n.expired()));
    }

    private String regionCode(int region) {
        NetworkMap nm = netmap;
        if (nm == null || nm.derpMap() == null || nm.derpMap().regions() == null) return "";
        var r = nm.derpMap().regions().get(region);
        return r == null || r.regionCode() == null ? "" : r.regionCode();
    }

    private static String shortName(String fqdn) {
        if (fqdn == null || fqdn.isEmpty()) return "";
        int dot = fqdn.indexOf('.');
        return dot < 0 ? fqdn : fqdn.substring(0, dot);
    }

    @Override
    public PingResult ping(String target, Duration timeout) throws BackendException {
        NetworkMap nm = netmap;
        if (nm == null) throw new BackendException(412, "not connected to a tailnet (state " + state + ")");
        Node peer = findPeer(nm, target);
        if (peer == null) throw new BackendException(404, "no matching peer for " + target);
        String ip = peer.addresses() == null || peer.addresses().isEmpty() ? "" : IpPrefix.format(peer.addresses().getFirst().address());
        try {
            long start = System.nanoTime();
            PingResult r = magicSock.ping(peer.key(), timeout).get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            if (log.isDebugEnabled()) {
                log.debug("ping {}: {} in {} ms", ip, r.err() != null ? r.err() : "pong via " + r.via(), ms(System.nanoTime() - start));
            }
            return new PingResult(ip, ip, shortName(peer.name()), r.err(), r.latencySeconds(), r.endpoint(),
                    r.derpRegionId(), r.derpRegionCode());
        } catch (TimeoutException e) {
            return PingResult.error(ip, "timeout waiting for ping reply");
        } catch (ExecutionException e) {
            return PingResult.error(ip, String.valueOf(e.getCause().getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackendException(500, "interrupted");
        }
    }

    /** A peer by tailnet address, MagicDNS name (short or full, trailing dot optional) or host name. */
    static Node findPeer(NetworkMap nm, String target) {
        String t = target.toLowerCase(Locale.ROOT);
        if (t.endsWith(".")) t = t.substring(0, t.length() - 1);
        InetAddress addr = null;
        if (t.matches("[0-9.]+|[0-9a-f:]+:[0-9a-f:.]*")) {
            try {
                addr = IpPrefix.parseAddress(t);
            } catch (IllegalArgumentException e) {
                addr = null;
            }
        }
        for (Node p : nm.peers()) {
            if (addr != null) {
                if (p.addresses() != null) for (IpPrefix a : p.addresses()) if (a.address().equals(addr)) return p;
                continue;
            }
            String name = p.name() == null ? "" : p.name().toLowerCase(Locale.ROOT);
            if (name.endsWith(".")) name = name.substring(0, name.length() - 1);
            if (name.equals(t) || shortName(name).equals(t)) return p;
            var hi = p.hostinfo();
            if (hi != null && hi.hostname() != null && hi.hostname().equalsIgnoreCase(t)) return p;
        }
        return null;
    }

    @Override
    public NetcheckReport netcheck() throws BackendException {
        NetworkMap nm = netmap;
        if (nm == null || nm.derpMap() == null) {
            NetcheckReport last = magicSock.lastNetcheck();
            if (last != null) return last;
            throw new BackendException(412, "no DERP map yet: run lattice up first");
        }
        try {
            return Netcheck.standalone(nm.derpMap(), Duration.ofSeconds(5), derpHttp());
        } catch (IOException e) {
            throw new BackendException(503, "netcheck failed: " + e.getMessage());
        }
    }

    @Override
    public dev.lattice.agent.cert.CertPair cert(String domain) throws BackendException {
        NetworkMap nm = netmap;
        ControlClient c = control;
        if (nm == null || c == null) throw new BackendException(412, "no netmap available (state " + state + ")");
        List<String> certDomains = nm.dns() == null || nm.dns().certDomains() == null ? List.of() : nm.dns().certDomains();
        // tailscale's resolveCertDomain, with its wording
        if (certDomains.isEmpty()) {
            throw new BackendException(500, "your Lattice control server does not support getting TLS certs");
        }
        if (!certDomains.contains(domain)) {
            throw new BackendException(400, "invalid domain \"" + domain + "\"; must be one of " + goQuoted(certDomains));
        }
        try {
            return certs().get(domain, c::setDns);
        } catch (IOException e) {
            throw new BackendException(500, e.getMessage());
        }
    }

    // --- serve (issue 16) ----------------------------------------------------------------------------------

    @Override
    public dev.lattice.agent.serve.ServeConfig serveConfig() {
        return serveStore.get();
    }

    @Override
    public void setServeConfig(dev.lattice.agent.serve.ServeConfig config, String etag) throws BackendException {
        synchronized (serveStore) {
            dev.lattice.agent.serve.ServeConfig prev = serveStore.get();
            if (etag != null && !etag.isEmpty() && !etag.equals(prev.etag())) {
                throw new BackendException(412, "etag mismatch"); // tailscale's ErrETagMismatch
            }
            try {
                NetworkMap nm = netmap;
                java.util.Set<String> caps = nm == null || nm.self() == null || nm.self().capMap() == null
                        ? java.util.Set.of() : nm.self().capMap().keySet();
                dev.lattice.agent.serve.ServeValidation.validate(config, caps);
            } catch (IllegalArgumentException e) {
                throw new BackendException(400, e.getMessage());
            }
            try {
                serveStore.set(config);
            } catch (IOException e) {
                throw new BackendException(500, "saving serve config: " + e.getMessage());
            }
            serve.apply(config, List.copyOf(peerApi.ports().keySet()));
        }
        // Hostinfo.IngressEnabled / WireIngress follow the config (tailscale's maybeSentHostinfoIfChangedLocked).
        ControlClient c = control;
        if (c != null) c.updateHostinfo(hostinfo());
    }

    /** What the serve listeners ask of the daemon: whois through the netmap, and the node's certificate. */
    private final class ServeEnv implements dev.lattice.agent.serve.ServeListeners.Env {
        @Override
        public dev.lattice.agent.peerapi.Peer whois(java.net.InetSocketAddress remote) {
            return PeerApiServer.identify(netmap, remote);
        }

        @Override
        public java.util.Map<String, List<tools.jackson.databind.JsonNode>> peerCaps(java.net.InetSocketAddress remote) {
            return PeerApiServer.peerCaps(netmap, remote.getAddress());
        }

        @Override
        public String certDomain() {
            NetworkMap nm = netmap;
            List<String> d = nm == null || nm.dns() == null ? null : nm.dns().certDomains();
            return d == null || d.isEmpty() ? null : d.getFirst();
        }

        @Override
        public dev.lattice.agent.cert.CertPair cert(String domain) throws IOException {
            try {
                return LocalBackend.this.cert(domain);
            } catch (BackendException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
    }

    private static String goQuoted(List<String> l) {
        return l.stream().map(x -> "\"" + x + "\"").collect(java.util.stream.Collectors.joining(" ", "[", "]"));
    }

    private volatile dev.lattice.agent.cert.CertManager certs;

    /** Made on first use: reading the CA bundles costs a little, and most nodes never ask for a certificate. */
    private dev.lattice.agent.cert.CertManager certs() throws IOException {
        dev.lattice.agent.cert.CertManager m = certs;
        if (m != null) return m;
        synchronized (lock) {
            if (certs == null) {
                try {
                    certs = new dev.lattice.agent.cert.CertManager(new dev.lattice.agent.cert.CertStore(opts.stateDir()),
                            dev.lattice.agent.cert.CertManager.directoryFromEnv(), dev.lattice.agent.cert.GoTrust.sslContext(),
                            java.time.Clock.systemUTC());
                } catch (java.security.GeneralSecurityException e) {
                    throw new IOException("cannot set up TLS for the ACME server: " + e.getMessage(), e);
                }
            }
            return certs;
        }
    }

    @Override
    public void setDns(String name, String value) throws BackendException {
        ControlClient c = control;
        if (c == null) throw new BackendException(412, "not connected");
        try {
            c.setDns(name, value);
        } catch (IOException e) {
            throw new BackendException(500, e.getMessage());
        }
    }

    @Override
    public WhoIsResponse whois(String address) throws BackendException {
        NetworkMap nm = netmap;
        if (nm == null) throw new BackendException(412, "not connected to a tailnet (state " + state + ")");
        InetAddress a;
        try {
            String host = address.startsWith("[") ? address.substring(1, address.indexOf(']')) : address.replaceFirst(":\\d+$", "");
            a = IpPrefix.parseAddress(host);
        } catch (RuntimeException e) {
            throw new BackendException(400, "invalid address: " + address);
        }
        List<Node> all = new ArrayList<>(nm.peers());
        if (nm.self() != null) all.add(nm.self());
        for (Node n : all) {
            if (n.addresses() == null) continue;
            for (IpPrefix p : n.addresses()) {
                if (p.address().equals(a)) {
                    UserProfile u = n.user() == null ? null : nm.userProfiles().get(n.user());
                    return new WhoIsResponse(peerStatus(n, n == nm.self()),
                            u == null ? null : new Status.UserProfileJson(u.id(), u.loginName(), u.displayName()));
                }
            }
        }
        throw new BackendException(404, "no node with address " + address);
    }

    // --- lifecycle ----------------------------------------------------------------------------------

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) return;
            closed = true;
        }
        log.info("latticed stopping");
        ticker.shutdownNow();
        listeners.shutdownNow();
        if (api != null) api.close();
        ControlClient c = control;
        if (c != null) c.close();
        serve.close();
        peerApi.close();
        restoreDns();
        magicSock.close();
        router.close();
        device.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        terminated.complete(null);
    }

    /**
     * Every 2 s: roaming (the host's addresses changed, e.g. a new DHCP lease or another network: rediscover our
     * endpoints and re-prove paths at once rather than waiting for the next periodic round), and MagicDNS still
     * in the host's resolv.conf (someone rewrote it: put ours back, keeping theirs as the backup).
     */
    private void tick() {
        try {
            java.util.Set<InetAddress> now = hostAddresses();
            if (hostAddrs != null && !now.equals(hostAddrs)) {
                log.info("host addresses changed; rediscovering endpoints");
                magicSock.rebind();
                ControlClient c = control;
                if (c != null) c.networkChanged();
                // The LANs an exit node user keeps direct (or sends through it) and an exit node keeps to itself changed.
                NetworkMap nm = netmap;
                if (nm != null) {
                    synchronized (lock) {
                        applyNetworkMap(nm);
                    }
                }
            }
            hostAddrs = now;
            if (dnsApplied && osDns.reapplyIfTrampled()) log.info("resolv.conf was rewritten by someone else; MagicDNS put back");
        } catch (IOException | RuntimeException e) {
            log.debug("tick: {}", e.toString());
        }
    }

    private java.util.Set<InetAddress> hostAddresses() throws IOException {
        return sys.host().addresses(opts.tun());
    }

    private void restoreDns() {
        dnsApplied = false;
        try {
            osDns.restore();
        } catch (IOException e) {
            log.warn("restoring the host's resolv.conf failed: {}", e.getMessage());
        }
    }

    NodePublicKey nodeKey() {
        return store.state().nodeKey().publicKey();
    }

    // --- peer API and DNS through the exit node (issue 13) ----------------------------------------------

    /** The exit-node routes; a node offers an exit node when it advertises both (tailscale's OfferingExitNode). */
    static final List<IpPrefix> EXIT_ROUTES = List.of(IpPrefix.parse("0.0.0.0/0"), IpPrefix.parse("::/0"));
    /** The peer API with its routes: /dns-query for the peers that use us as their exit node. */
    private PeerApiServer newPeerApi() {
        PeerApiRoutes routes = new PeerApiRoutes();
        routes.registerPrefix("/dns-query", new DnsQueryHandler(magicDns, new DnsProxyPolicy(this::offeringExitNode),
                this::exitDnsHostResolvers));
        return new PeerApiServer(routes, () -> netmap, PeerApiServer.Options.defaults());
    }

    /** The peer API and Serve on {@code nm}'s addresses, on {@link #listeners}; skipped when a newer netmap came meanwhile. */
    private void openListeners(NetworkMap nm) {
        listeners.execute(() -> {
            if (closed || netmap != nm) return; // a newer netmap's turn follows, or we went down
            try {
                updatePeerApi(nm);
                serve.apply(serveStore.get(), List.copyOf(peerApi.ports().keySet()));
            } catch (RuntimeException e) {
                log.warn("opening the peer API failed: {}", e.toString());
            }
        });
    }

    /** Closes the peer API and Serve after whatever {@link #listeners} still has to do, and waits for it. */
    private void closeListeners() {
        try {
            listeners.submit(this::stopPeerApi).get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | java.util.concurrent.RejectedExecutionException e) {
            log.warn("closing the peer API failed: {}", e.toString());
        }
    }

    /**
     * Listens on our tailnet addresses from {@code nm}; tells the TUN's filter and (through Hostinfo.Services,
     * tailscale's hostInfoWithServicesLocked) control when the ports change.
     */
    private void updatePeerApi(NetworkMap nm) {
        List<InetAddress> addrs = new ArrayList<>();
        if (nm.self() != null && nm.self().addresses() != null) {
            for (IpPrefix a : nm.self().addresses()) if (a.bits() == (a.isIPv4() ? 32 : 128)) addrs.add(a.address());
        }
        if (!peerApi.listen(addrs)) return;
        tun.setPeerApiPorts(peerApi.ports());
        setServices(peerApi.services());
    }

    private void stopPeerApi() {
        serve.stop();
        peerApi.stop();
        tun.setPeerApiPorts(Map.of());
        setServices(List.of());
    }

    /** Whether we advertise both exit routes (tailscale's OfferingExitNode). */
    private boolean offeringExitNode() {
        return store.prefs().advertisesExitNode();
    }

    /**
     * What the exit node in use means for MagicDNS: its DoH proxy when it offers one, the fallback resolvers when it
     * does not or is not in the netmap, nothing without an exit node (tailscale's exitNodeCanProxyDNS).
     */
    private ExitNodeDns exitNodeDns(NetworkMap nm) {
        if (!exitNodeSelected()) return ExitNodeDns.NONE;
        Node exit = exitNodePeer(nm);
        if (exit == null) return ExitNodeDns.withoutProxy();
        return PeerApiServices.exitNodeDoh(nm, exit).map(ExitNodeDns::proxiedBy).orElseGet(ExitNodeDns::withoutProxy);
    }

    /** Whether an exit node is selected (by ID, or by IP until the netmap names it). */
    private boolean exitNodeSelected() {
        return store.prefs().usesExitNode();
    }

    /** The selected exit node's peer in {@code nm}, or null (not in the netmap, or not resolved yet). */
    private Node exitNodePeer(NetworkMap nm) {
        String id = store.prefs().exitNodeId();
        if (id == null || id.isEmpty()) return null;
        for (Node p : nm.peers()) {
            if (id.equals(p.stableId()) || id.equals(String.valueOf(p.id()))) return p;
        }
        return null;
    }

    /** Tests: the netmap applied last, MagicDNS's configuration, and where the peer API listens. */
    NetworkMap currentNetmap() {
        return netmap;
    }

    MagicDnsConfig dnsConfig() {
        return magicDns.config();
    }

    Map<InetAddress, Integer> peerApiPorts() {
        return peerApi.ports();
    }

    /**
     * Where our DoH proxy sends peers' queries: the host's nameservers, unless MagicDNS is the host's resolver (then
     * empty: the queries follow MagicDNS's routes, as tailscale does when resolv.conf names 100.100.100.100).
     */
    private List<java.net.InetSocketAddress> exitDnsHostResolvers() {
        if (dnsApplied) return List.of();
        try {
            return osDns.originalNameservers();
        } catch (IOException e) {
            log.debug("reading the host's nameservers: {}", e.getMessage());
            return List.of();
        }
    }

}
