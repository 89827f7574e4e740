package dev.lattice.agent.control;

import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.agent.netmap.NetworkMapBuilder;
import dev.lattice.controlclient.ControlChannel;
import dev.lattice.controlclient.MapStream;
import dev.lattice.controlclient.ServerKey;
import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.AddrPort;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.MapRequest;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.NetInfo;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.RegisterResponseAuth;
import dev.lattice.wire.tailcfg.SetDNSRequest;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's link to its control server (tailscale's {@code controlclient.Auto} over {@code Direct}): discovers the
 * server key, opens a ts2021 channel, registers (auth key, restore, or interactive with an AuthURL and a held
 * follow-up request), then long-polls {@code /machine/map} with zstd and turns each message into a {@link NetworkMap}.
 *
 * <p>Whenever the channel or stream dies it reconnects with exponential backoff (jittered, capped at
 * {@link Config#maxBackoff()}); the last network map stays valid meanwhile, so the data plane keeps working while
 * control is down. Endpoint, Hostinfo and preferred-DERP changes are sent at once as a lite map update
 * ({@code Stream:false, OmitPeers:true}), as tailscale's {@code updateRoutine} does: changes made while one is on its
 * way go together in the next; every new stream also carries them.
 *
 * <p>Threads: one virtual thread runs the login/map loop and calls the {@link Listener} (never a Netty event loop);
 * another sends lite updates. Keys are never logged.
 */
public final class ControlClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlClient.class);
    /** The time tailscale sends as Expiry to log out: any time in the past expires the node key. */
    static final Instant LOGOUT_EXPIRY = Instant.parse("1970-01-01T00:02:03Z");
    /** Reconnect when the stream is silent this long; the server sends keep-alives every ~50 s. */
    static final Duration STREAM_SILENCE_LIMIT = Duration.ofSeconds(120);
    /** Longer than the server's hold on a follow-up register (2 min in headscale and lattice-control). */
    static final Duration FOLLOWUP_TIMEOUT = Duration.ofMinutes(3);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
    static final Duration MIN_BACKOFF = Duration.ofMillis(100);

    /** Callbacks, all from the client's own thread, in order. */
    public interface Listener {
        /** The login state changed; {@code authUrl} is set with NeedsLogin when a user must visit it. */
        void onState(BackendState state, String authUrl);

        void onNetworkMap(NetworkMap map);

        /** Something failed; the client retries by itself unless the state is NeedsLogin. */
        default void onError(Throwable error) {}

        /**
         * A login attempt (key discovery, the ts2021 handshake, register) failed, with a one-line {@code error} for
         * the user, or succeeded ({@code null}). As tailscale's auth routine reports it to its health tracker.
         */
        default void onLoginResult(String error) {}

        /** A map long-poll started delivering (true) or ended (false). */
        default void onMapPoll(boolean polling) {}
    }

    /**
     * What the client needs.
     *
     * @param oldNodeKey the node key {@code nodeKey} replaces (re-login after logout/expiry), or null
     * @param group the event loop group for the channel, or null for a private one
     * @param maxBackoff the reconnect backoff cap (tailscale: 30 s)
     * @param streamSilenceLimit reconnect when the map stream is silent this long (tailscale: 120 s; the server
     *     sends keep-alives every ~50 s). It is what detects a half-open connection.
     */
    public record Config(URI serverUrl, MachinePrivateKey machineKey, NodePrivateKey nodeKey, NodePrivateKey oldNodeKey,
            DiscoPublicKey discoKey, Supplier<Hostinfo> hostinfo, boolean ephemeral, EventLoopGroup group,
            Duration maxBackoff, Duration streamSilenceLimit, Clock clock,
            java.util.function.Consumer<io.netty.bootstrap.Bootstrap> dialer) {
        public Config {
            Objects.requireNonNull(serverUrl, "serverUrl");
            Objects.requireNonNull(machineKey, "machineKey");
            Objects.requireNonNull(nodeKey, "nodeKey");
            Objects.requireNonNull(discoKey, "discoKey");
            Objects.requireNonNull(hostinfo, "hostinfo");
            if (maxBackoff == null) maxBackoff = Duration.ofSeconds(30);
            if (streamSilenceLimit == null) streamSilenceLimit = STREAM_SILENCE_LIMIT;
            if (clock == null) clock = Clock.systemUTC();
        }

        public static Config of(URI serverUrl, MachinePrivateKey machineKey, NodePrivateKey nodeKey,
                DiscoPublicKey discoKey, Supplier<Hostinfo> hostinfo) {
            return new Config(serverUrl, machineKey, nodeKey, null, discoKey, hostinfo, false, null, null, null, null, null);
        }

        /**
         * Applied last to the bootstrap of each connection to the server (the /key request too): the channel type of
         * {@code group}'s transport and socket options, such as latticed's bypass mark. Needs {@link #withGroup}.
         */
        public Config withDialer(java.util.function.Consumer<io.netty.bootstrap.Bootstrap> d) {
            return new Config(serverUrl, machineKey, nodeKey, oldNodeKey, discoKey, hostinfo, ephemeral, group, maxBackoff, streamSilenceLimit, clock, d);
        }

        public Config withGroup(EventLoopGroup g) {
            return new Config(serverUrl, machineKey, nodeKey, oldNodeKey, discoKey, hostinfo, ephemeral, g, maxBackoff, streamSilenceLimit, clock, dialer);
        }

        public Config withOldNodeKey(NodePrivateKey k) {
            return new Config(serverUrl, machineKey, nodeKey, k, discoKey, hostinfo, ephemeral, group, maxBackoff, streamSilenceLimit, clock, dialer);
        }

        public Config withMaxBackoff(Duration d) {
            return new Config(serverUrl, machineKey, nodeKey, oldNodeKey, discoKey, hostinfo, ephemeral, group, d, streamSilenceLimit, clock, dialer);
        }

        public Config withStreamSilenceLimit(Duration d) {
            return new Config(serverUrl, machineKey, nodeKey, oldNodeKey, discoKey, hostinfo, ephemeral, group, maxBackoff, d, clock, dialer);
        }

        public Config withEphemeral(boolean e) {
            return new Config(serverUrl, machineKey, nodeKey, oldNodeKey, discoKey, hostinfo, e, group, maxBackoff, streamSilenceLimit, clock, dialer);
        }

        @Override
        public String toString() {
            return "Config[" + serverUrl + "]";
        }
    }

    /**
     * A refusal by the server (RegisterResponse.Error, or HTTP 4xx): retrying will not help until the user acts. The
     * message is the server's own ({@code authkey expired}), which tailscale shows as {@code backend error: <it>}.
     */
    public static final class LoginException extends IOException {
        public LoginException(String message) {
            super(message);
        }
    }

    private final Config cfg;
    private final Listener listener;
    private final EventLoopGroup group;
    private final boolean ownGroup;
    private final SslContext ssl;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final Thread loop;
    private final Thread updater;

    // guarded by lock
    private String authKey;
    private boolean needLogin; // idle until login() is called
    private boolean updatePending;
    private boolean closed;
    private ControlChannel channel;
    private MapStream stream;

    // written by the loop thread, read by anyone
    private volatile boolean registered;
    private volatile NetworkMap netmap;
    private volatile BackendState state = BackendState.NoState;
    private volatile String stateUrl;

    // what we tell the server about ourselves
    private volatile List<AddrPort> endpoints = List.of();
    private volatile List<Integer> endpointTypes = List.of();
    private volatile Hostinfo hostinfoOverride;
    private volatile int preferredDerp;
    private long keyFetched; // the loop thread's, for the debug log of where a login's time went

    private ControlClient(Config cfg, Listener listener, String authKey) throws IOException {
        this.cfg = cfg;
        this.listener = new SafeListener(listener);
        this.authKey = authKey;
        this.ownGroup = cfg.group() == null;
        this.group = ownGroup ? new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory()) : cfg.group();
        this.ssl = "https".equalsIgnoreCase(cfg.serverUrl().getScheme()) ? SslContextBuilder.forClient().build() : null;
        this.loop = Thread.ofVirtual().name("control-client").unstarted(this::runLoop);
        this.updater = Thread.ofVirtual().name("control-client-updates").unstarted(this::runUpdates);
    }

    /**
     * Starts logging in and streaming. With an {@code authKey} the node registers with it; without, a known node
     * is restored, and an unknown one gets an AuthURL (reported via {@code onState(NeedsLogin, url)}).
     */
    public static ControlClient start(Config cfg, Listener listener, String authKey) throws IOException {
        ControlClient c = new ControlClient(cfg, listener, authKey);
        c.loop.start();
        c.updater.start();
        return c;
    }

    /** Tries to log in again after a refusal (NeedsLogin), with a new auth key or interactively (null). */
    public void login(String newAuthKey) {
        lock.lock();
        try {
            authKey = newAuthKey;
            needLogin = false;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The last network map, or null before the first; still valid while control is unreachable. */
    public NetworkMap networkMap() {
        return netmap;
    }

    public BackendState state() {
        return state;
    }

    /** Our UDP endpoints as magicsock found them; {@code types} parallel (EndpointType values). */
    public void updateEndpoints(List<AddrPort> eps, List<Integer> types) {
        if (eps.size() != types.size()) throw new IllegalArgumentException("endpoints and types differ in length");
        if (eps.equals(endpoints) && types.equals(endpointTypes)) return;
        endpoints = List.copyOf(eps);
        endpointTypes = List.copyOf(types);
        scheduleUpdate();
    }

    /** Replaces what the Hostinfo supplier gives (e.g. after a prefs change). */
    public void updateHostinfo(Hostinfo hi) {
        hostinfoOverride = hi;
        scheduleUpdate();
    }

    public void setPreferredDerp(int region) {
        if (region == preferredDerp) return;
        preferredDerp = region;
        scheduleUpdate();
    }

    /**
     * Logs out: registers with an Expiry in the past on a fresh connection, so the server expires the node key, then
     * stops this client. Log in again with a new node key (and a new ControlClient).
     */
    public CompletableFuture<Void> logout() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread.ofVirtual().name("control-client-logout").start(() -> {
            try {
                shutdown();
                try (ControlChannel ch = connect()) {
                    RegisterRequest req = RegisterRequest.builder().version(CapabilityVersion.CURRENT)
                            .nodeKey(cfg.nodeKey().publicKey()).expiry(LOGOUT_EXPIRY).hostinfo(hostinfo()).build();
                    ControlChannel.Response r = ch.request(HttpMethod.POST, "/machine/register",
                            Tailcfg.json().writeValueAsBytes(req)).get(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                    if (r.status() != 200) throw new IOException("logout: HTTP " + r.status() + ": " + r.bodyText().strip());
                    RegisterResponse rr = Tailcfg.json().readValue(r.body(), RegisterResponse.class);
                    if (rr.error() != null && !rr.error().isEmpty()) throw new IOException("logout: " + rr.error());
                }
                setState(BackendState.NeedsLogin, null);
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            } finally {
                if (ownGroup) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            }
        });
        return done;
    }

    /**
     * {@code POST /machine/set-dns} on the current connection: asks the control server to publish an ACME challenge
     * TXT record (tailscale's {@code Direct.SetDNS}). Fails with the server's status and message when refused.
     */
    public void setDns(String name, String value) throws IOException {
        ControlChannel ch;
        lock.lock();
        try {
            ch = registered ? channel : null;
        } finally {
            lock.unlock();
        }
        if (ch == null || !ch.isOpen()) throw new IOException("not connected to the control server");
        SetDNSRequest req = new SetDNSRequest(CapabilityVersion.CURRENT, cfg.nodeKey().publicKey(), name, "TXT", value);
        ControlChannel.Response r;
        try {
            r = ch.request(HttpMethod.POST, "/machine/set-dns", Tailcfg.json().writeValueAsBytes(req))
                    .get(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IOException("set-dns: " + describe(e), e);
        }
        if (r.status() != 200) {
            String msg = r.bodyText().strip();
            throw new IOException("set-dns response: " + r.status() + ", " + (msg.length() > 200 ? msg.substring(0, 200) : msg));
        }
    }

    /**
     * The host's network changed (roaming): the connection to control is likely dead without either side knowing
     * (its source address is gone), so drop it now; the loop reconnects with a fresh backoff.
     */
    public void networkChanged() {
        lock.lock();
        try {
            if (closed) return;
            if (stream != null) stream.close();
            if (channel != null) channel.close();
        } finally {
            lock.unlock();
        }
    }

    /** Stops the client. Call it from a thread of your own, not a Netty event loop (it waits for the loop to end). */
    @Override
    public void close() {
        shutdown();
        if (ownGroup) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private void shutdown() {
        lock.lock();
        try {
            if (closed) return;
            closed = true;
            wake.signalAll();
            if (stream != null) stream.close();
            if (channel != null) channel.close();
        } finally {
            lock.unlock();
        }
        loop.interrupt();
        updater.interrupt();
        try {
            loop.join(5_000); // its finally closes the channel and waits for that
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    // ---- the login/map loop ----

    private void runLoop() {
        setState(BackendState.Starting, null);
        long backoffMs = 0;
        while (!isClosed()) {
            try {
                if (awaitLoginRequest()) continue;
                long t0 = System.nanoTime();
                ControlChannel ch = connect();
                if (!publishChannel(ch)) break;
                long t1 = System.nanoTime();
                if (!registered && !register(ch)) continue;
                if (log.isDebugEnabled()) {
                    log.debug("control: connected in {} ms (key {} ms), registered in {} ms", (t1 - t0) / 1_000_000,
                            (keyFetched - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000);
                }
                if (mapSession(ch)) backoffMs = 0;
            } catch (InterruptedException e) {
                if (isClosed()) break;
            } catch (LoginException e) {
                listener.onLoginResult(e.getMessage());
                listener.onError(e);
                needLogin(null);
                continue;
            } catch (Exception e) {
                if (isClosed()) break;
                log.info("control: {}; reconnecting", describe(e));
                // Before registration every failure is a failed login; after it, the map poll's (reported there).
                if (!registered) listener.onLoginResult(describe(e));
                listener.onError(e);
            } finally {
                dropChannel();
            }
            // exponential backoff with jitter, capped; reset after a map session that delivered messages
            backoffMs = backoffMs == 0 ? MIN_BACKOFF.toMillis() : Math.min(backoffMs * 2, cfg.maxBackoff().toMillis());
            long sleep = backoffMs / 2 + ThreadLocalRandom.current().nextLong(backoffMs / 2 + 1);
            if (!sleepUnlessClosed(sleep)) break;
        }
    }

    /** Blocks while the user must act (NeedsLogin after a refusal); returns true if woken for another try. */
    private boolean awaitLoginRequest() throws InterruptedException {
        lock.lock();
        try {
            if (!needLogin) return false;
            while (needLogin && !closed) wake.await();
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void needLogin(String url) {
        lock.lock();
        try {
            needLogin = true;
        } finally {
            lock.unlock();
        }
        setState(BackendState.NeedsLogin, url);
    }

    private boolean sleepUnlessClosed(long ms) {
        lock.lock();
        try {
            long nanos = TimeUnit.MILLISECONDS.toNanos(ms);
            while (!closed && nanos > 0) nanos = wake.awaitNanos(nanos);
            return !closed;
        } catch (InterruptedException e) {
            return !closed;
        } finally {
            lock.unlock();
        }
    }

    private ControlChannel connect() throws Exception {
        MachinePublicKey controlKey;
        try {
            controlKey = cfg.dialer() == null ? ServerKey.fetch(cfg.serverUrl(), CapabilityVersion.CURRENT)
                    : ServerKey.fetch(group, cfg.serverUrl(), CapabilityVersion.CURRENT, ssl, cfg.dialer());
            keyFetched = System.nanoTime();
        } catch (IOException e) {
            // As tailscale words it: "fetch control key: <what failed>".
            throw new IOException("fetch control key: GET " + cfg.serverUrl().resolve("/key?v=" + CapabilityVersion.CURRENT)
                    + ": " + describe(e), e);
        }
        return ControlChannel.connect(group, cfg.serverUrl(), ssl, cfg.machineKey(), controlKey, CapabilityVersion.CURRENT,
                        null, cfg.dialer() == null ? b -> {} : cfg.dialer())
                .get(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    private boolean publishChannel(ControlChannel ch) {
        lock.lock();
        try {
            if (closed) {
                ch.close();
                return false;
            }
            channel = ch;
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void dropChannel() {
        ControlChannel ch;
        lock.lock();
        try {
            if (stream != null) stream.close();
            ch = channel;
            stream = null;
            channel = null;
        } finally {
            lock.unlock();
        }
        // Wait for the close so a caller shutting down the event loop group next does not race it.
        if (ch != null) ch.channel().close().awaitUninterruptibly(1_000);
    }

    /** Registers; returns false if the user must act first. */
    private boolean register(ControlChannel ch) throws Exception {
        String key;
        lock.lock();
        try {
            key = authKey;
        } finally {
            lock.unlock();
        }
        RegisterRequest.Builder rb = RegisterRequest.builder().version(CapabilityVersion.CURRENT)
                .nodeKey(cfg.nodeKey().publicKey()).hostinfo(hostinfo());
        if (cfg.oldNodeKey() != null) rb.oldNodeKey(cfg.oldNodeKey().publicKey());
        if (cfg.ephemeral()) rb.ephemeral(true);
        if (key != null) rb.auth(new RegisterResponseAuth(null, null, null, key));
        String followup = null;
        while (true) {
            if (followup != null) rb.followup(followup).auth(null);
            Duration timeout = followup != null ? FOLLOWUP_TIMEOUT : REQUEST_TIMEOUT;
            ControlChannel.Response r = ch.request(HttpMethod.POST, "/machine/register",
                    Tailcfg.json().writeValueAsBytes(rb.build())).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (r.status() >= 400 && r.status() < 500) {
                forgetAuthKey();
                throw new LoginException("register request: http " + r.status() + ": " + firstLine(r.bodyText()));
            }
            if (r.status() != 200) throw new IOException("register: HTTP " + r.status());
            RegisterResponse rr = Tailcfg.json().readValue(r.body(), RegisterResponse.class);
            if (rr.error() != null && !rr.error().isEmpty()) {
                // Final, as in tailscale (a vizerror): the user must act, e.g. with another auth key.
                forgetAuthKey();
                throw new LoginException(firstLine(rr.error()));
            }
            if (Boolean.TRUE.equals(rr.nodeKeyExpired())) {
                throw new LoginException("the node key has expired; log in again with a new node key");
            }
            if (rr.authUrl() != null && !rr.authUrl().isEmpty() && !Boolean.TRUE.equals(rr.machineAuthorized())) {
                // Interactive: show the URL, then wait on the follow-up the server holds until someone approves.
                if (!BackendState.NeedsLogin.equals(state) || !rr.authUrl().equals(stateUrl)) {
                    setState(BackendState.NeedsLogin, rr.authUrl());
                }
                followup = rr.authUrl();
                if (isClosed()) return false;
                continue;
            }
            forgetAuthKey();
            registered = true;
            listener.onLoginResult(null);
            if (!Boolean.TRUE.equals(rr.machineAuthorized())) setState(BackendState.NeedsMachineAuth, null);
            return true;
        }
    }

    private void forgetAuthKey() {
        lock.lock();
        try {
            authKey = null;
        } finally {
            lock.unlock();
        }
    }

    private sealed interface StreamEvent permits Message, Status, Closed {}

    private record Message(byte[] json) implements StreamEvent {}

    private record Status(int code) implements StreamEvent {}

    private record Closed(Throwable cause) implements StreamEvent {}

    /**
     * One long poll: returns when the stream ends (true if it delivered at least one message); throws on errors.
     * Messages are queued by the event loop and applied here, so listeners never run on Netty's threads.
     */
    private boolean mapSession(ControlChannel ch) throws Exception {
        LinkedBlockingQueue<StreamEvent> events = new LinkedBlockingQueue<>();
        long t0 = System.nanoTime();
        byte[] body = Tailcfg.json().writeValueAsBytes(mapRequest(true).build());
        MapStream s = ch.stream("/machine/map", body, true, new MapStream.Listener() {
            @Override
            public void onMessage(byte[] json) {
                events.add(new Message(json));
            }

            @Override
            public void onStatus(int status) {
                if (status != 200) events.add(new Status(status));
            }

            @Override
            public void onClose(Throwable cause) {
                events.add(new Closed(cause));
            }
        }).get(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        lock.lock();
        try {
            if (closed) {
                s.close();
                return false;
            }
            stream = s;
        } finally {
            lock.unlock();
        }
        log.debug("control: map stream open in {} ms", (System.nanoTime() - t0) / 1_000_000);
        NetworkMapBuilder builder = new NetworkMapBuilder(cfg.clock());
        try {
            return pollMap(events, builder);
        } finally {
            listener.onMapPoll(false);
        }
    }

    /** The stream's events until it ends; reports the poll as started with its first message. */
    private boolean pollMap(LinkedBlockingQueue<StreamEvent> events, NetworkMapBuilder builder) throws Exception {
        boolean any = false;
        long lastHeard = System.nanoTime();
        while (true) {
            long limit = cfg.streamSilenceLimit().toNanos();
            long wait = limit - (System.nanoTime() - lastHeard);
            Duration untilExpiry = untilKeyExpiry();
            if (untilExpiry != null) wait = Math.min(wait, Math.max(untilExpiry.toNanos(), 0) + 1_000_000);
            StreamEvent ev = events.poll(Math.max(wait, 0), TimeUnit.NANOSECONDS);
            if (isClosed()) return any;
            if (ev == null) {
                if (System.nanoTime() - lastHeard >= limit) {
                    throw new IOException("map stream silent for " + cfg.streamSilenceLimit().toMillis() + " ms");
                }
                stateFromMap(netmap); // a key may just have expired
                continue;
            }
            switch (ev) {
                case Message m -> {
                    lastHeard = System.nanoTime();
                    if (!any) listener.onMapPoll(true);
                    any = true;
                    long t0 = System.nanoTime();
                    MapResponse resp = Tailcfg.json().readValue(m.json(), MapResponse.class);
                    NetworkMap nm = builder.apply(resp);
                    if (nm != null) {
                        netmap = nm;
                        if (log.isDebugEnabled()) log.debug("control: map message ({} bytes) parsed in {} ms", m.json().length, (System.nanoTime() - t0) / 1_000_000);
                        listener.onNetworkMap(nm);
                        stateFromMap(nm);
                    }
                }
                case Status st -> {
                    if (st.code() == 401 || st.code() == 403 || st.code() == 404) registered = false; // re-register next time
                    throw new IOException("map: HTTP " + st.code());
                }
                case Closed c -> {
                    if (c.cause() != null) throw new IOException("map stream failed: " + describe(c.cause()), c.cause());
                    return any;
                }
            }
        }
    }

    private Duration untilKeyExpiry() {
        NetworkMap nm = netmap;
        if (nm == null || nm.self() == null || Tailcfg.isZero(nm.self().keyExpiry())) return null;
        return Duration.between(cfg.clock().instant(), nm.self().keyExpiry());
    }

    private void stateFromMap(NetworkMap nm) {
        if (nm == null) return;
        Node self = nm.self();
        Instant expiry = self.keyExpiry();
        if ((!Tailcfg.isZero(expiry) && !expiry.isAfter(cfg.clock().instant())) || Boolean.TRUE.equals(self.expired())) {
            setState(BackendState.NeedsLogin, null);
        } else if (!Boolean.TRUE.equals(self.machineAuthorized())) {
            setState(BackendState.NeedsMachineAuth, null);
        } else {
            setState(BackendState.Running, null);
        }
    }

    private void setState(BackendState s, String url) {
        if (s == state && Objects.equals(url, stateUrl)) return;
        state = s;
        stateUrl = url;
        listener.onState(s, url);
    }

    private Hostinfo hostinfo() {
        Hostinfo hi = hostinfoOverride != null ? hostinfoOverride : cfg.hostinfo().get();
        int derp = preferredDerp;
        if (derp != 0) {
            NetInfo ni = hi.netInfo() != null ? hi.netInfo() : NetInfo.empty();
            hi = hi.withNetInfo(ni.withPreferredDerp(derp));
        }
        return hi;
    }

    private MapRequest.Builder mapRequest(boolean streaming) {
        MapRequest.Builder b = MapRequest.builder().version(CapabilityVersion.CURRENT).nodeKey(cfg.nodeKey().publicKey())
                .discoKey(cfg.discoKey()).hostinfo(hostinfo()).endpoints(endpoints).endpointTypes(endpointTypes);
        if (streaming) return b.stream(true).compress("zstd");
        return b.stream(false).omitPeers(true);
    }

    // ---- lite updates ----

    private void scheduleUpdate() {
        lock.lock();
        try {
            updatePending = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void runUpdates() {
        while (true) {
            ControlChannel ch;
            lock.lock();
            try {
                while (!closed && !updatePending) wake.await();
                if (closed) return;
            } catch (InterruptedException e) {
                if (closed) return;
                continue;
            } finally {
                lock.unlock();
            }
            // No wait to gather a burst (there was 250 ms): a peer behind a NAT learns our STUN address only from
            // this update, and every millisecond of it delays the first direct path. Changes that come while this one
            // is sent are gathered by updatePending into the next.
            lock.lock();
            try {
                updatePending = false;
                ch = channel;
            } finally {
                lock.unlock();
            }
            // Not connected or not registered yet: the next map request carries the new values anyway.
            if (ch == null || !registered || !ch.isOpen()) continue;
            try {
                ControlChannel.Response r = ch.request(HttpMethod.POST, "/machine/map",
                        Tailcfg.json().writeValueAsBytes(mapRequest(false).build()))
                        .get(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                if (r.status() != 200) throw new IOException("lite map update: HTTP " + r.status());
            } catch (InterruptedException e) {
                if (isClosed()) return;
            } catch (Exception e) {
                // The stream reconnects on its own and resends everything; make sure it does.
                log.debug("control: lite update failed: {}", describe(e));
                restartStreamSoon();
            }
        }
    }

    private void restartStreamSoon() {
        lock.lock();
        try {
            if (stream != null) stream.close();
        } finally {
            lock.unlock();
        }
    }

    /** A listener that throws must not end the login/map loop. */
    private record SafeListener(Listener l) implements Listener {
        @Override
        public void onState(BackendState state, String authUrl) {
            try {
                l.onState(state, authUrl);
            } catch (RuntimeException e) {
                log.warn("control listener onState failed", e);
            }
        }

        @Override
        public void onNetworkMap(NetworkMap map) {
            try {
                l.onNetworkMap(map);
            } catch (RuntimeException e) {
                log.warn("control listener onNetworkMap failed", e);
            }
        }

        @Override
        public void onError(Throwable error) {
            try {
                l.onError(error);
            } catch (RuntimeException e) {
                log.warn("control listener onError failed", e);
            }
        }

        @Override
        public void onLoginResult(String error) {
            try {
                l.onLoginResult(error);
            } catch (RuntimeException e) {
                log.warn("control listener onLoginResult failed", e);
            }
        }

        @Override
        public void onMapPoll(boolean polling) {
            try {
                l.onMapPoll(polling);
            } catch (RuntimeException e) {
                log.warn("control listener onMapPoll failed", e);
            }
        }
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.indexOf('\n');
        t = nl < 0 ? t : t.substring(0, nl);
        return t.length() > 200 ? t.substring(0, 200) + "…" : t;
    }

    /** One line for a user: what failed, in words for the common network failures. */
    static String describe(Throwable t) {
        if (t instanceof java.util.concurrent.ExecutionException && t.getCause() != null) t = t.getCause();
        if (t instanceof TimeoutException || t instanceof java.net.http.HttpTimeoutException) return "timed out";
        if (t instanceof io.netty.channel.ConnectTimeoutException) return "timed out";
        if (t.getMessage() != null && t.getMessage().contains("No route to host")) return "connect: no route to host";
        if (t instanceof java.net.ConnectException) return "connect: connection refused";
        if (t instanceof java.net.UnknownHostException) return "no such host " + t.getMessage();
        if (t instanceof java.net.NoRouteToHostException) return "connect: no route to host";
        if (t.getClass() == IOException.class && t.getMessage() != null) return firstLine(t.getMessage()); // ours: already words
        return firstLine(t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage()));
    }
}
