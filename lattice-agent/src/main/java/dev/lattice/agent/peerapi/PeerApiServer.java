package dev.lattice.agent.peerapi;

import dev.lattice.agent.netmap.NetworkMap;
import dev.lattice.guard.BodyLimiter;
import dev.lattice.guard.CloseOnError;
import dev.lattice.guard.ConnectionGuard;
import dev.lattice.guard.Limits;
import dev.lattice.guard.LogLimiter;
import dev.lattice.guard.RequestDeadline;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.Service;
import dev.lattice.wire.tailcfg.UserProfile;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer API server (tailscale's {@code peerAPIServer}/{@code peerAPIListener}): one HTTP/1.1 listener on each of
 * our tailnet addresses, on a port chosen as tailscale does ({@link PeerApiServices#stablePort}, else ephemeral),
 * advertised in Hostinfo.Services ({@link #services}). A connection is served only while its source address is a
 * node of the current netmap (a peer, or ourselves); others are closed at once. Each request is checked as
 * tailscale does (no Referer or Origin, a Host naming one of our addresses, against DNS rebinding) and given to the
 * route its path matches, with the peer that sent it.
 *
 * <p>Peers are strangers as far as limits go: lattice-guard caps connections per source and in total, bodies and
 * bytes in flight, and the time a request may take to arrive; bad input is logged one line per source a minute.
 * Listeners bind with IP_FREEBIND where the platform has it, so they need not wait for the router to put the
 * address on the TUN.
 */
public final class PeerApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeerApiServer.class);
    private static final LogLimiter LOG = LogLimiter.perMinute(log);

    /**
     * @param limits what one peer, and all together, may hold
     * @param handlerTimeout how long a route may take to answer before the peer gets a 500
     */
    public record Options(Limits limits, Duration handlerTimeout) {
        public Options {
            Objects.requireNonNull(limits, "limits");
            Objects.requireNonNull(handlerTimeout, "handlerTimeout");
        }

        /**
         * 64 connections per peer (a DoH client keeps a couple; Taildrop a few), 1,024 in all, 30 s for a request to
         * arrive, 64 KiB bodies (a DNS message is at most 65,535 bytes), 30 s for an answer.
         */
        public static Options defaults() {
            return new Options(Limits.builder().maxConnections(1024).maxAnonymousPerSource(64)
                    .maxAnonymousBody(64 << 10).maxBody(64 << 10).build(), Duration.ofSeconds(30));
        }
    }

    private final PeerApiRoutes routes;
    private final Supplier<NetworkMap> netmap;
    private final Options options;
    private final ConnectionGuard guard;
    private final EventLoopGroup group;
    private final boolean epoll;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    /** Listeners by tailnet address, in the netmap's order; guarded by this. */
    private final Map<InetAddress, Channel> listeners = new LinkedHashMap<>();
    private volatile Map<InetAddress, Integer> ports = Map.of();
    private volatile Ingress ingress;
    private boolean closed;

    public PeerApiServer(PeerApiRoutes routes, Supplier<NetworkMap> netmap, Options options) {
        this.routes = Objects.requireNonNull(routes, "routes");
        this.netmap = Objects.requireNonNull(netmap, "netmap");
        this.options = Objects.requireNonNull(options, "options");
        this.guard = new ConnectionGuard(options.limits());
        this.epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    }

    public PeerApiRoutes routes() {
        return routes;
    }

    /** Where {@code /v0/ingress} hands Funnel connections; without one every ingress request is denied. */
    public void ingress(Ingress i) {
        this.ingress = i;
    }

    /** tailcfg.PeerCapabilityIngress: what a peer needs to send us Funnel connections. */
    public static final String CAP_INGRESS = "https://tailscale.com/cap/ingress";

    /**
     * Why an ingress request is refused, as tailscale's {@code handleServeIngress} says it (status and text), or null:
     * the peer lacks the ingress capability, the method is not POST, or the source or target header is missing or
     * malformed.
     */
    static PeerApiResponse ingressRefusal(PeerApiRequest r) {
        if (!canIngress(r)) return PeerApiResponse.error(403, "denied; no ingress cap");
        if (!r.method().equals("POST")) return PeerApiResponse.error(405, "only POST allowed");
        String src = r.header("Tailscale-Ingress-Src");
        if (src == null || src.isEmpty()) return PeerApiResponse.error(400, "Tailscale-Ingress-Src header not set");
        if (addrPort(src) == null) return PeerApiResponse.error(400, "Tailscale-Ingress-Src header invalid; want ip:port");
        String target = r.header("Tailscale-Ingress-Target");
        if (target == null || target.isEmpty()) return PeerApiResponse.error(400, "Tailscale-Ingress-Target header not set");
        if (!splitsHostPort(target)) return PeerApiResponse.error(400, "Tailscale-Ingress-Target header invalid; want host:port");
        return null;
    }

    /** Whether the filter's CapGrants give the sender {@link #CAP_INGRESS} towards us (tailscale's canIngress). */
    static boolean canIngress(PeerApiRequest r) {
        NetworkMap nm = r.netmap();
        if (nm == null || nm.self() == null || nm.self().addresses() == null) return false;
        List<InetAddress> self = new ArrayList<>();
        for (IpPrefix a : nm.self().addresses()) if (PeerApiServices.single(a)) self.add(a.address());
        return dev.lattice.agent.filter.CapGrants.of(nm.packetFilter(), unmap(r.peer().remote().getAddress()), self)
                .contains(CAP_INGRESS);
    }

    /** What the filter's CapGrants give {@code src} towards this node, with values (tailscale's PeerCaps). */
    public static java.util.Map<String, List<tools.jackson.databind.JsonNode>> peerCaps(NetworkMap nm, InetAddress src) {
        if (nm == null || nm.self() == null || nm.self().addresses() == null || src == null) return java.util.Map.of();
        List<InetAddress> self = new ArrayList<>();
        for (IpPrefix a : nm.self().addresses()) if (PeerApiServices.single(a)) self.add(a.address());
        return dev.lattice.agent.filter.CapGrants.withValues(nm.packetFilter(), unmap(src), self);
    }

    /** Go's {@code netip.ParseAddrPort}: "ip:port" or "[ipv6]:port", addresses only. */
    static InetSocketAddress addrPort(String s) {
        InetAddress a = hostAddress(s);
        if (a == null) return null;
        return new InetSocketAddress(a, Integer.parseInt(s.substring(s.lastIndexOf(':') + 1)));
    }

    /** Go's {@code net.SplitHostPort} succeeds: one colon (or a bracketed host), nothing after the bracket but :port. */
    static boolean splitsHostPort(String s) {
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            return close > 0 && close + 1 < s.length() && s.charAt(close + 1) == ':' && s.indexOf(']', close + 1) < 0
                    && s.indexOf('[', 1) < 0;
        }
        int colon = s.lastIndexOf(':');
        return colon >= 0 && s.indexOf(':') == colon && s.indexOf('[') < 0 && s.indexOf(']') < 0;
    }

    /**
     * Listens on exactly {@code addrs} (our tailnet addresses, from the netmap): nothing happens when they are the
     * ones listened on already; otherwise every listener is closed and new ones are opened, as tailscale does. An
     * address that cannot be bound is logged and left out. Returns whether the advertised ports changed.
     */
    public synchronized boolean listen(List<InetAddress> addrs) {
        if (closed) return false;
        if (new ArrayList<>(listeners.keySet()).equals(addrs)) return false;
        Map<InetAddress, Integer> before = ports;
        closeListeners();
        Map<InetAddress, Integer> now = new LinkedHashMap<>();
        // Every address's first (stable) port at once: each bind is a round trip to the event loop, and these are on
        // the way of a first `up` (its netmap is applied, then Running). Only an address whose port was taken tries on.
        Map<InetAddress, ChannelFuture> first = new LinkedHashMap<>();
        for (InetAddress ip : addrs) first.put(ip, bootstrap().bind(new InetSocketAddress(ip, PeerApiServices.stablePort(ip, 0))));
        for (InetAddress ip : addrs) {
            Channel ch;
            try {
                ch = first.get(ip).sync().channel();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                // as a failed bind: left out, and its channel closed should the bind still succeed
                first.get(ip).addListener(f -> {
                    if (f.isSuccess()) ((ChannelFuture) f).channel().close();
                });
                continue;
            } catch (Exception e) {
                ch = bind(ip, 1); // taken (or the address is not ours): the next port
            }
            if (ch == null) continue;
            listeners.put(ip, ch);
            int port = ((InetSocketAddress) ch.localAddress()).getPort();
            now.put(ip, port);
            log.info("peer API: serving on http://{}", hostPort(ip, port));
        }
        ports = Map.copyOf(now);
        return !ports.equals(before);
    }

    /** Closes every listener (down, logout); {@link #listen} opens them again. Returns whether any were open. */
    public synchronized boolean stop() {
        boolean had = !listeners.isEmpty();
        closeListeners();
        ports = Map.of();
        return had;
    }

    /** The port of each listening address. */
    public Map<InetAddress, Integer> ports() {
        return ports;
    }

    /** Our Hostinfo.Services: the peer API ports, and the DNS proxy; none while nothing listens. */
    public List<Service> services() {
        Map<InetAddress, Integer> p = ports;
        return p.isEmpty() ? List.of() : PeerApiServices.services(p);
    }

    /** Open peer API connections (tests, status). */
    public int openConnections() {
        return guard.openConnections();
    }

    /** Binds {@code ip} on its stable ports from the {@code from}-th try on, then on any port; null if none. */
    private Channel bind(InetAddress ip, int from) {
        Exception last = null;
        for (int attempt = from; attempt <= PeerApiServices.STABLE_TRIES; attempt++) {
            int port = attempt < PeerApiServices.STABLE_TRIES ? PeerApiServices.stablePort(ip, attempt) : 0;
            try {
                return bootstrap().bind(new InetSocketAddress(ip, port)).sync().channel();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            } catch (Exception e) {
                last = e; // taken (or the address is not ours): the next port
            }
        }
        log.warn("peer API: cannot listen on {}: {}", IpPrefix.format(ip), last == null ? "?" : last.toString());
        return null;
    }

    private ServerBootstrap bootstrap() {
        ServerBootstrap b = new ServerBootstrap().group(group)
                .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 128)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (!guard.admit(ch)) return;
                        InetSocketAddress remote = (InetSocketAddress) ch.remoteAddress();
                        if (identify(netmap.get(), remote) == null) {
                            LOG.info(remote.getAddress(), "peer API: connection from {}, not a node of the tailnet; closed",
                                    IpPrefix.format(remote.getAddress()));
                            ch.close();
                            return;
                        }
                        Limits l = options.limits();
                        ch.pipeline().addLast("http", new HttpServerCodec(8192, 16384, 8192));
                        ch.pipeline().addLast("body-limit", new BodyLimiter(l.maxAnonymousBody));
                        ch.pipeline().addLast("aggregate", new HttpObjectAggregator(l.maxBody));
                        ch.pipeline().addLast("http-deadline", new RequestDeadline(l.requestTimeout, true));
                        ch.pipeline().addLast("peerapi", new Dispatcher());
                        ch.pipeline().addLast("errors", new CloseOnError(LOG, "peer API connection"));
                    }
                });
        if (epoll) b.option(EpollChannelOption.IP_FREEBIND, true);
        return b;
    }

    /** The node that has {@code remote}'s address in {@code nm} (a peer, or ourselves), or null. */
    public static Peer identify(NetworkMap nm, InetSocketAddress remote) {
        if (nm == null || nm.self() == null) return null;
        InetAddress src = unmap(remote.getAddress());
        List<Node> all = new ArrayList<>(nm.peers().size() + 1);
        all.add(nm.self());
        all.addAll(nm.peers());
        for (Node n : all) {
            if (n.addresses() == null) continue;
            for (IpPrefix a : n.addresses()) {
                if (PeerApiServices.single(a) && a.address().equals(src)) {
                    UserProfile u = n.user() == null ? null : nm.userProfiles().get(n.user());
                    boolean same = n.user() != null && Objects.equals(n.user(), nm.self().user());
                    return new Peer(n, u, new InetSocketAddress(src, remote.getPort()), same);
                }
            }
        }
        return null;
    }

    /** An IPv4-mapped IPv6 address as the IPv4 address (tailscale's {@code netaddr.Unmap}). */
    static InetAddress unmap(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 16) {
            boolean mapped = b[10] == (byte) 0xff && b[11] == (byte) 0xff;
            for (int i = 0; i < 10 && mapped; i++) mapped = b[i] == 0;
            if (mapped) {
                try {
                    return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                } catch (java.net.UnknownHostException e) {
                    return a;
                }
            }
        }
        return a;
    }

    /**
     * Why {@code req} is refused, or null (tailscale's {@code validatePeerAPIRequest}): a browser page must not be
     * able to call a peer's API, so no Referer, no Origin, and a Host that is "peer" or one of our addresses (a
     * rebound DNS name fails).
     */
    static String invalid(Peer peer, NetworkMap nm, String referer, String origin, String host) {
        if (referer != null && !referer.isEmpty()) return "unexpected Referer";
        if (origin != null && !origin.isEmpty()) return "unexpected Origin";
        if ("peer".equals(host)) return null;
        InetAddress a = hostAddress(host);
        if (a == null) return "Host is not an address and port";
        if (!isOurAddress(peer, nm, a)) return IpPrefix.format(a) + " not found in self addresses";
        return null;
    }

    /** The address of an "ip:port" or "[ipv6]:port" Host header, or null. */
    static InetAddress hostAddress(String host) {
        if (host == null) return null;
        String addr;
        String port;
        if (host.startsWith("[")) {
            int close = host.indexOf(']');
            if (close < 0 || close + 1 >= host.length() || host.charAt(close + 1) != ':') return null;
            addr = host.substring(1, close);
            port = host.substring(close + 2);
            if (addr.indexOf(':') < 0) return null;
        } else {
            int colon = host.lastIndexOf(':');
            if (colon < 0 || host.indexOf(':') != colon) return null;
            addr = host.substring(0, colon);
            port = host.substring(colon + 1);
            if (addr.indexOf('.') < 0) return null;
        }
        if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(Character::isDigit) || Integer.parseInt(port) > 65535) {
            return null;
        }
        if (!addr.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')) return null; // no names
        try {
            return IpPrefix.parseAddress(addr);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** One of our own addresses, or the masquerade address this peer knows us by (tailscale's {@code isAddressValid}). */
    private static boolean isOurAddress(Peer peer, NetworkMap nm, InetAddress a) {
        Node p = peer.node();
        InetAddress m4 = p.selfNodeV4MasqAddrForThisPeer(), m6 = p.selfNodeV6MasqAddrForThisPeer();
        if (m4 != null || m6 != null) return a.equals(m4) || a.equals(m6);
        if (nm == null || nm.self() == null || nm.self().addresses() == null) return false;
        for (IpPrefix s : nm.self().addresses()) if (PeerApiServices.single(s) && s.address().equals(a)) return true;
        return false;
    }

    /** Whether the request looks like a browser's, which then gets security headers (tailscale's heuristic). */
    static boolean fromBrowser(PeerApiRequest r) {
        for (String v : r.headerValues("Accept-Encoding")) {
            for (String tok : v.split(",")) if (tok.trim().toLowerCase(Locale.ROOT).startsWith("deflate")) return true;
        }
        String ua = r.header("User-Agent");
        if (ua != null && (ua.startsWith("Mozilla/") || ua.chars().filter(c -> c == ' ').count() > 2)) return true;
        String lang = r.header("Accept-Language");
        return lang != null && !lang.isEmpty();
    }

    /** The page at "/": who we are and who is asking (tailscale's hello). */
    static PeerApiResponse hello(PeerApiRequest r) {
        Peer p = r.peer();
        String who = p.user() != null && p.user().displayName() != null ? p.user().displayName() : "";
        StringBuilder b = new StringBuilder("<html>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<body>\n");
        b.append("<h1>Hello, ").append(html(who)).append(" (").append(IpPrefix.format(p.remote().getAddress())).append(")</h1>\n");
        b.append("This is my Tailscale device. Your device is ").append(html(p.displayName())).append(".\n");
        if (p.sameUser()) b.append("<p>You are the owner of this node.\n");
        return PeerApiResponse.ok("text/html; charset=utf-8", b.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static String html(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&#34;").replace("'", "&#39;");
    }

    /** Routes one connection's requests, one at a time and in order (HTTP/1.1 pipelining). */
    private final class Dispatcher extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final ArrayDeque<Pending> queue = new ArrayDeque<>();
        private boolean busy;

        /** A request copied out of its buffers (they are released when channelRead0 returns). */
        private record Pending(boolean decoded, boolean keepAlive, String method, String uri,
                Map<String, List<String>> headers, byte[] body) {}

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            Map<String, List<String>> headers = new HashMap<>();
            for (Map.Entry<String, String> e : req.headers()) {
                headers.computeIfAbsent(e.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(e.getValue());
            }
            queue.add(new Pending(req.decoderResult().isSuccess(), HttpUtil.isKeepAlive(req), req.method().name(), req.uri(),
                    headers, ByteBufUtil.getBytes(req.content())));
            if (!busy) next(ctx);
        }

        private void next(ChannelHandlerContext ctx) {
            Pending p = queue.poll();
            if (p == null) {
                busy = false;
                return;
            }
            busy = true;
            boolean keepAlive = p.keepAlive();
            InetSocketAddress remote = (InetSocketAddress) ctx.channel().remoteAddress();
            if (!p.decoded()) {
                LOG.info(remote.getAddress(), "peer API: malformed request from {}", IpPrefix.format(remote.getAddress()));
                send(ctx, PeerApiResponse.error(400, "malformed request"), false);
                return;
            }
            NetworkMap nm = netmap.get();
            Peer peer = identify(nm, remote);
            if (peer == null) {
                // Gone from the netmap since it connected (removed, or the policy no longer lets us see it).
                ctx.close();
                return;
            }
            QueryStringDecoder qs = new QueryStringDecoder(p.uri());
            PeerApiRequest r = new PeerApiRequest(p.method(), qs.path(), qs.parameters(), p.headers(), p.body(), peer,
                    (InetSocketAddress) ctx.channel().localAddress(), nm);
            String bad = invalid(peer, nm, r.header("Referer"), r.header("Origin"), r.header("Host"));
            if (bad != null) {
                LOG.info(remote.getAddress(), "peer API: invalid request from {}: {}", peer.displayName(), bad);
                send(ctx, PeerApiResponse.error(403, "invalid peerapi request"), keepAlive);
                return;
            }
            if (r.path().equals("/v0/ingress")) {
                ingress(ctx, r);
                return;
            }
            boolean browser = fromBrowser(r);
            dispatch(r).whenComplete((res, err) -> {
                PeerApiResponse out = res;
                if (err != null || res == null) {
                    LOG.info(remote.getAddress(), "peer API: {} {} from {} failed: {}", r.method(), printable(r.path()),
                            peer.displayName(), err == null ? "no response" : err.toString());
                    out = PeerApiResponse.error(500, "internal error");
                }
                if (browser) out = securityHeaders(out);
                send(ctx, out, keepAlive);
            });
        }

        /**
         * tailscale's {@code handleServeIngress}: once the request passes, the connection stops being HTTP. It is
         * answered with a bare 101 and from then on carries the Funnel client's bytes (TLS), relayed to the serve
         * listener of the target's port.
         */
        private void ingress(ChannelHandlerContext ctx, PeerApiRequest r) {
            InetAddress from = r.peer().remote().getAddress();
            PeerApiResponse refused = ingressRefusal(r);
            if (refused != null) {
                LOG.info(from, "ingress: refused from {}: {}", r.peer().displayName(),
                        new String(refused.body(), StandardCharsets.UTF_8).strip());
                send(ctx, refused, false);
                return;
            }
            String target = r.header("Tailscale-Ingress-Target");
            InetSocketAddress src = addrPort(r.header("Tailscale-Ingress-Src"));
            Ingress in = ingress;
            InetSocketAddress backend = in == null ? null : in.backend(target);
            if (backend == null) {
                LOG.info(from, "ingress: conn for unconfigured {} from {}; rejecting", printable(target), r.peer().displayName());
                send(ctx, PeerApiResponse.error(403, "denied"), false);
                return;
            }
            Channel front = ctx.channel();
            front.config().setAutoRead(false);
            io.netty.bootstrap.Bootstrap b = new io.netty.bootstrap.Bootstrap().group(front.eventLoop())
                    .channel(epoll ? io.netty.channel.epoll.EpollSocketChannel.class : io.netty.channel.socket.nio.NioSocketChannel.class)
                    .option(ChannelOption.AUTO_READ, false)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                    .handler(new io.netty.channel.ChannelInboundHandlerAdapter());
            Dispatcher self = this;
            b.connect(backend).addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    LOG.info(from, "ingress: serve listener for {} unreachable: {}", printable(target), f.cause().toString());
                    send(ctx, PeerApiResponse.error(403, "denied"), false);
                    return;
                }
                Channel back = f.channel();
                AutoCloseable reg = in.connected(((InetSocketAddress) back.localAddress()).getPort(), src);
                back.closeFuture().addListener(x -> {
                    try {
                        reg.close();
                    } catch (Exception ignored) {
                        // nothing to undo
                    }
                });
                for (String n : List.of("http-deadline", "aggregate", "body-limit", "http")) {
                    if (front.pipeline().get(n) != null) front.pipeline().remove(n);
                }
                front.pipeline().replace(self, "relay", new Relay(back));
                // One ingress carries every visitor: its relays count in the total, not against its per-peer cap.
                ConnectionGuard.promote(front);
                back.pipeline().addLast(new Relay(front));
                front.writeAndFlush(Unpooled.copiedBuffer("HTTP/1.1 101 Switching Protocols\r\n\r\n", StandardCharsets.US_ASCII))
                        .addListener((ChannelFutureListener) w -> {
                            if (!w.isSuccess()) {
                                front.close();
                                back.close();
                                return;
                            }
                            front.read();
                            back.read();
                        });
            });
        }

        private CompletionStage<PeerApiResponse> dispatch(PeerApiRequest r) {
            PeerApiHandler h = routes.find(r.path());
            if (h == null) {
                PeerApiResponse res = r.path().equals("/") ? hello(r) : PeerApiResponse.error(404, "unsupported peerapi path");
                return CompletableFuture.completedFuture(res);
            }
            CompletableFuture<PeerApiResponse> out = new CompletableFuture<>();
            workers.execute(() -> {
                try {
                    CompletionStage<PeerApiResponse> s = h.handle(r);
                    if (s == null) out.complete(null);
                    else s.whenComplete((v, e) -> {
                        if (e != null) out.completeExceptionally(e);
                        else out.complete(v);
                    });
                } catch (Exception | Error e) {
                    out.completeExceptionally(e);
                }
            });
            return out.orTimeout(options.handlerTimeout().toMillis(), TimeUnit.MILLISECONDS);
        }

        private void send(ChannelHandlerContext ctx, PeerApiResponse r, boolean keepAlive) {
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
                    Unpooled.wrappedBuffer(r.body()));
            r.headers().forEach((k, v) -> res.headers().set(k, v));
            if (r.contentType() != null) res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
            res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
            if (!keepAlive) res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(res).addListener((ChannelFutureListener) f -> {
                if (!keepAlive || !f.isSuccess()) {
                    ctx.close();
                    return;
                }
                if (ctx.executor().inEventLoop()) next(ctx);
                else ctx.executor().execute(() -> next(ctx));
            });
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            queue.clear();
            super.channelInactive(ctx);
        }
    }

    private static PeerApiResponse securityHeaders(PeerApiResponse r) {
        return r.withHeader("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; script-src 'none'; "
                        + "script-src-elem 'none'; script-src-attr 'none'; style-src 'unsafe-inline'")
                .withHeader("X-Frame-Options", "DENY").withHeader("X-Content-Type-Options", "nosniff");
    }

    private static String printable(String s) {
        String t = s.replaceAll("\\p{Cntrl}", "?");
        return t.length() > 80 ? t.substring(0, 80) + "…" : t;
    }

    private static String hostPort(InetAddress ip, int port) {
        return ip instanceof Inet4Address ? IpPrefix.format(ip) + ":" + port : "[" + IpPrefix.format(ip) + "]:" + port;
    }

    private void closeListeners() {
        for (Channel ch : listeners.values()) ch.close().syncUninterruptibly();
        listeners.clear();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
            closeListeners();
            ports = Map.of();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownNow();
    }
}
