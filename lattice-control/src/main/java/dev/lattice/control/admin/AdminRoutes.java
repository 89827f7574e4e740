package dev.lattice.control.admin;

import dev.lattice.control.http.HttpResponses;
import dev.lattice.control.http.LargeBodies;
import dev.lattice.control.http.Routes;
import dev.lattice.control.policy.PolicySize;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;

/**
 * The admin REST API on the main HTTP port: {@code /api/v1/...} for remote admins, each request authenticated with
 * {@code Authorization: Bearer <api key>} (created with {@code lattice-control apikeys create}). Without a valid,
 * unexpired key the answer is 401 {@code Unauthorized}, as Headscale's. Other paths return null so the caller can
 * chain further routes.
 *
 * <p>Request bodies on the front port are small, except a policy upload: with a valid key it may be as large as
 * the file mode accepts ({@link PolicySize}), decided before the body is read.
 */
public final class AdminRoutes implements Routes, LargeBodies {
    private static final String BEARER = "Bearer ";
    /**
     * The largest request an authenticated admin may send: a policy at its 8 Mi-character limit, JSON-escaped. Only
     * requests whose API key checked out before their body was read get this far (see ControlServer).
     */
    public static final int MAX_BODY = 20 << 20;
    private final AdminHttp http;

    public AdminRoutes(AdminApi api) {
        this.http = new AdminHttp(api);
    }

    @Override
    public FullHttpResponse handle(FullHttpRequest req) {
        String uri = req.uri();
        int q = uri.indexOf('?');
        if (!(q < 0 ? uri : uri.substring(0, q)).startsWith(AdminHttp.PREFIX)) return null;
        String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (auth == null || !auth.startsWith(BEARER)) return unauthorized();
        try {
            http.api().authenticate(auth.substring(BEARER.length()).strip());
        } catch (AdminException e) {
            return unauthorized();
        }
        AdminHttp.Response r = http.handle(req.method().name(), uri, ByteBufUtil.getBytes(req.content()));
        return HttpResponses.json(HttpResponseStatus.valueOf(r.status()), r.body());
    }

    @Override
    public boolean mayBeLarge(HttpRequest head) {
        String auth = head.headers().get(HttpHeaderNames.AUTHORIZATION);
        return auth != null && auth.startsWith(BEARER) && AdminHttp.isPolicyUpload(head.method().name(), head.uri());
    }

    @Override
    public int limit(HttpRequest head) {
        if (!mayBeLarge(head)) return 0;
        try {
            http.api().authenticate(head.headers().get(HttpHeaderNames.AUTHORIZATION).substring(BEARER.length()).strip());
            return PolicySize.MAX_REQUEST_BYTES;
        } catch (AdminException e) {
            return 0;
        }
    }

    private static FullHttpResponse unauthorized() {
        return HttpResponses.of(HttpResponseStatus.UNAUTHORIZED, "text/plain; charset=utf-8",
                "Unauthorized".getBytes(StandardCharsets.UTF_8));
    }
}
