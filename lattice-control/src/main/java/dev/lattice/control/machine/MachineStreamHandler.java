package dev.lattice.control.machine;

import dev.lattice.control.http.HttpResponses;
import dev.lattice.control.noise.ControlSession;
import dev.lattice.control.store.ConflictException;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.MapRequest;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.SetDNSRequest;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.guard.ConnectionGuard;
import dev.lattice.guard.LogLimiter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;

/** One HTTP/2 stream on a ts2021 channel: decodes the JSON request and hands it to the {@link MachineService}. */
public final class MachineStreamHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(MachineStreamHandler.class);
    /** Failures here are our bugs (or a database outage): worth a trace, but not once per request of a flood. */
    private static final LogLimiter failures = LogLimiter.perMinute(log);

    private final ControlSession session;
    private final MachineService service;
    private final Executor workers;

    public MachineStreamHandler(ControlSession session, MachineService service, Executor workers) {
        this.session = session;
        this.service = service;
        this.workers = workers;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        QueryStringDecoder query = new QueryStringDecoder(req.uri());
        String path = query.path();
        byte[] body = new byte[req.content().readableBytes()];
        req.content().readBytes(body);
        HttpMethod method = req.method();
        workers.execute(() -> {
            try {
                if (path.startsWith(SSH_ACTION)) {
                    sshAction(ctx, method, path, query);
                    return;
                }
                switch (path) {
                    case "/machine/register" -> {
                        requirePost(method);
                        RegisterRequest rr = decode(body, RegisterRequest.class);
                        checkVersion(rr.version());
                        service.register(session, rr).whenComplete((resp, err) -> {
                            if (err != null) {
                                Throwable c = err instanceof java.util.concurrent.CompletionException && err.getCause() != null
                                        ? err.getCause() : err;
                                fail(ctx, "POST", path, c);
                                return;
                            }
                            // A machine the tailnet knows is no stranger: its connection leaves the per-address cap.
                            if (Boolean.TRUE.equals(resp.machineAuthorized())) ConnectionGuard.promote(ctx.channel());
                            respondJson(ctx, resp);
                        });
                    }
                    case "/machine/map" -> {
                        requirePost(method);
                        MapRequest mr = decode(body, MapRequest.class);
                        MapSink sink = new MapSink(ctx.channel(), "zstd".equals(mr.compress()));
                        try {
                            checkVersion(mr.version());
                            service.map(session, mr, sink);
                            ConnectionGuard.promote(ctx.channel()); // a registered node of this machine
                        } catch (HttpError e) {
                            sink.fail(e.status(), e.getMessage());
                        }
                    }
                    case "/machine/set-dns" -> {
                        requirePost(method);
                        SetDNSRequest sr = decode(body, SetDNSRequest.class);
                        checkVersion(sr.version());
                        service.setDns(session, sr);
                        // tailcfg.SetDNSResponse is an empty object; the client decodes it.
                        respondJson(ctx, java.util.Map.of());
                    }
                    case "/machine/update-health", "/machine/audit-log", "/machine/c2n",
                            "/machine/id-token", "/machine/feature/query", "/machine/set-device-attr", "/machine/whoami" ->
                            respond(ctx, 501, "not implemented by this control server");
                    default -> respond(ctx, 404, "not found");
                }
            } catch (RuntimeException e) {
                fail(ctx, method.name(), path, e);
            }
        });
    }

    /**
     * The client's answer for a failed request: an {@link HttpError}'s own status; 409 with the store's message
     * (which names a column, never a value) when the request lost to a unique constraint, e.g. a node key another
     * machine holds, so the client sees why instead of a bare 500; 500 for anything else, our bug or a database
     * outage, logged (rate-limited) with its trace at debug.
     */
    private void fail(ChannelHandlerContext ctx, String method, String path, Throwable c) {
        if (c instanceof HttpError he) {
            respond(ctx, he.status(), he.getMessage());
        } else if (c instanceof ConflictException ce) {
            log.debug("{} {} from {}: {}", method, path, session.machineKey(), ce.getMessage());
            respond(ctx, 409, ce.getMessage());
        } else {
            if (failures.warn(session.remote(), "{} {} from {} failed: {}", method, path, session.machineKey(), c.toString())) {
                log.debug("{} {} from {} failed", method, path, session.machineKey(), c);
            }
            respond(ctx, 500, "internal error");
        }
    }

    private static final String SSH_ACTION = "/machine/ssh/action/";
    private static final java.util.regex.Pattern SSH_PAIR = java.util.regex.Pattern.compile("(\\d{1,18})/to/(\\d{1,18})");

    /** {@code GET /machine/ssh/action/SRC/to/DST[?auth_id=ID]}, as Headscale routes it. */
    private void sshAction(ChannelHandlerContext ctx, HttpMethod method, String path, QueryStringDecoder q) {
        if (!HttpMethod.GET.equals(method)) throw new HttpError(405, "method not allowed");
        java.util.regex.Matcher m = SSH_PAIR.matcher(path.substring(SSH_ACTION.length()));
        if (!m.matches()) throw new HttpError(400, "Invalid src_node_id or dst_node_id");
        java.util.List<String> id = q.parameters().get("auth_id");
        try {
            respondJson(ctx, service.sshAction(session, Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
                    id == null || id.isEmpty() ? null : id.getFirst()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ctx.close();
        }
    }

    /** Headscale refuses clients older than its minimum capability version on both endpoints, before anything else. */
    static void checkVersion(Integer v) {
        if (v == null || v < CapabilityVersion.MINIMUM_SUPPORTED) {
            throw new HttpError(400, "unsupported client: capability version " + v + " is older than the minimum "
                    + CapabilityVersion.MINIMUM_SUPPORTED + "; please upgrade Tailscale");
        }
    }

    private static void requirePost(HttpMethod m) {
        if (!HttpMethod.POST.equals(m)) throw new HttpError(405, "method not allowed");
    }

    static <T> T decode(byte[] body, Class<T> type) {
        try {
            T v = Tailcfg.json().readValue(body, type);
            if (v == null) throw new HttpError(400, "empty request body");
            return v;
        } catch (JacksonException e) {
            // The parser's message names the position and field, not the content; no secrets leak back.
            throw new HttpError(400, "malformed " + type.getSimpleName() + ": " + e.getOriginalMessage());
        }
    }

    private static void respondJson(ChannelHandlerContext ctx, Object resp) {
        byte[] json = Tailcfg.json().writeValueAsBytes(resp);
        ctx.writeAndFlush(HttpResponses.json(HttpResponseStatus.OK, json)).addListener(f -> ctx.close());
    }

    private static void respond(ChannelHandlerContext ctx, int status, String text) {
        FullHttpResponse r = HttpResponses.text(HttpResponseStatus.valueOf(status), text);
        ctx.writeAndFlush(r).addListener(f -> ctx.close());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("stream from {} failed: {}", session.machineKey(), cause.toString());
        ctx.close();
    }
}
