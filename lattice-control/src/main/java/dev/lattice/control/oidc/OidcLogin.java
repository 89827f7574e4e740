package dev.lattice.control.oidc;

import dev.lattice.control.admin.AdminApi;
import dev.lattice.control.auth.PendingRegistration;
import dev.lattice.control.auth.Registrations;
import dev.lattice.control.auth.Tags;
import dev.lattice.control.http.HttpResponses;
import dev.lattice.control.http.Routes;
import dev.lattice.control.sshcheck.SshActions;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.RegisterMethod;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.StoreException;
import dev.lattice.control.store.User;
import dev.lattice.guard.LogLimiter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.CookieHeaderNames;
import io.netty.handler.codec.http.cookie.DefaultCookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import io.netty.handler.codec.http.cookie.ServerCookieEncoder;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Headscale's OIDC login on the front port, for the interactive registration's {@code /register/<auth id>}:
 * <ol>
 * <li>{@code GET /register/<id>} (the URL the client printed) redirects to the identity provider with a fresh state,
 *     nonce (and PKCE challenge), the state also set as a cookie on {@code /oidc/callback} (HttpOnly, SameSite=Lax,
 *     15 minutes), which binds the login to this browser;</li>
 * <li>{@code GET /oidc/callback} checks the state against the cookie and takes it (one use), exchanges the code,
 *     validates the ID token, applies allowed_groups/domains/users, creates or updates the user identified by
 *     (issuer, subject), and shows a confirmation page (Headscale 0.29's interstitial: a silent SSO alone never
 *     registers a machine);</li>
 * <li>{@code POST /register/confirm/<id>} (the page's button, with a CSRF token in a SameSite=Strict cookie and the
 *     form) registers the machine to the user, and the waiting client proceeds at once.</li>
 * </ol>
 */
public final class OidcLogin implements Routes {
    private static final Logger log = LoggerFactory.getLogger(OidcLogin.class);
    private static final LogLimiter badInput = LogLimiter.perMinute(log);
    private static final Pattern AUTH_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    /** As Headscale's auth cache: a login must finish within 15 minutes; at most 1024 are in flight. */
    static final Duration LOGIN_TTL = Duration.ofMinutes(15);
    static final int MAX_LOGINS = 1024;
    static final String CONFIRM_FIELD = "lattice_register_confirm";
    private static final int STATE_PREFIX = 6;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final OidcProvider provider;
    private final Registrations registrations;
    private final Tailnet tailnet;
    private final Clock clock;
    private final boolean secureCookies;
    private final LoginSteps steps;
    private volatile SshActions sshChecks;

    public OidcLogin(OidcProvider provider, Registrations registrations, Tailnet tailnet, URI serverUrl, Clock clock) {
        this.provider = provider;
        this.registrations = registrations;
        this.tailnet = tailnet;
        this.clock = clock;
        this.secureCookies = "https".equals(serverUrl.getScheme());
        // Replicas: a balancer may send each of the browser's pages to another replica.
        this.steps = tailnet.store().changes().enabled() ? new StoredLoginSteps(tailnet.store().oidcLogins(), LOGIN_TTL)
                : new MemoryLoginSteps(LOGIN_TTL, MAX_LOGINS);
    }

    /** Tailscale SSH checks, whose {@code /auth/ID} login this serves too (none until set). */
    public void sshChecks(SshActions checks) {
        this.sshChecks = checks;
    }

    @Override
    public FullHttpResponse handle(FullHttpRequest req) {
        QueryStringDecoder q = new QueryStringDecoder(req.uri());
        String path = q.path();
        if (path.startsWith("/register/confirm/")) {
            if (!req.method().equals(HttpMethod.POST)) return page(HttpResponseStatus.METHOD_NOT_ALLOWED, OidcPages.failed("Use the button on the confirmation page."));
            return confirm(req, path.substring("/register/confirm/".length()));
        }
        if (path.startsWith("/register/")) {
            if (!req.method().equals(HttpMethod.GET)) return page(HttpResponseStatus.METHOD_NOT_ALLOWED, OidcPages.failed("Open this link in a browser."));
            return start(path.substring("/register/".length()));
        }
        if (path.startsWith("/auth/") && sshChecks != null) {
            if (!req.method().equals(HttpMethod.GET)) return page(HttpResponseStatus.METHOD_NOT_ALLOWED, OidcPages.failed("Open this link in a browser."));
            String id = path.substring("/auth/".length());
            if (sshChecks.waiting(id).isEmpty()) return page(HttpResponseStatus.GONE, OidcPages.sshExpired());
            return redirectToProvider(SSH_CHECK + id);
        }
        if (path.equals("/oidc/callback") && req.method().equals(HttpMethod.GET)) return callback(req, q);
        return null;
    }

    /** Marks a login started at {@code /auth/ID} (a Tailscale SSH check) among those started at {@code /register/ID}. */
    private static final String SSH_CHECK = "ssh-check:";

    private FullHttpResponse start(String authId) {
        if (!AUTH_ID.matcher(authId).matches()) return page(HttpResponseStatus.BAD_REQUEST, OidcPages.failed("This registration link is malformed."));
        if (registrations.pending(authId).isEmpty()) return page(HttpResponseStatus.GONE, OidcPages.expired());
        return redirectToProvider(authId);
    }

    private FullHttpResponse redirectToProvider(String authId) {
        Map.Entry<URI, OidcProvider.Request> auth;
        try {
            auth = provider.authorization();
        } catch (OidcProvider.Unavailable e) {
            badInput.warn("unavailable", "OIDC: cannot start a login: {}", e.getMessage());
            return page(HttpResponseStatus.SERVICE_UNAVAILABLE, OidcPages.unavailable());
        }
        String state = auth.getValue().state().getValue();
        steps.started(state, new LoginSteps.Started(authId, auth.getValue(), clock.instant()));
        FullHttpResponse r = HttpResponses.of(HttpResponseStatus.FOUND, null, new byte[0]);
        r.headers().set(HttpHeaderNames.LOCATION, auth.getKey().toString());
        r.headers().add(HttpHeaderNames.SET_COOKIE, cookie(stateCookie(state), state, "/oidc/callback", LOGIN_TTL,
                CookieHeaderNames.SameSite.Lax));
        noStore(r);
        return r;
    }

    private FullHttpResponse callback(FullHttpRequest req, QueryStringDecoder q) {
        String error = param(q, "error");
        String code = param(q, "code");
        String state = param(q, "state");
        if (!error.isEmpty()) {
            // The provider's own error code (access_denied, ...), a fixed vocabulary: safe to show and log.
            String shown = error.matches("[a-z_]{1,64}") ? error : "an error";
            log.info("OIDC: the identity provider answered the login with {}", shown);
            return page(HttpResponseStatus.FORBIDDEN, OidcPages.failed("The identity provider reported " + shown + "."));
        }
        if (code.isEmpty() || state.isEmpty()) {
            return page(HttpResponseStatus.BAD_REQUEST, OidcPages.failed("The sign-in answer lacks its code or state."));
        }
        if (state.length() < STATE_PREFIX) return page(HttpResponseStatus.BAD_REQUEST, OidcPages.failed("The sign-in answer is malformed."));
        String cookie = cookies(req).get(stateCookie(state));
        if (cookie == null || !constantTimeEquals(cookie, state)) {
            badInput.warn("state", "OIDC: callback whose state is not this browser's (no or another state cookie)");
            return page(HttpResponseStatus.FORBIDDEN, OidcPages.failed(
                    "This sign-in was not started in this browser, or took too long. Open the link your device printed in this browser."));
        }
        LoginSteps.Started s = steps.takeStarted(state, clock.instant()).orElse(null);
        if (s == null) {
            return withCookie(page(HttpResponseStatus.GONE, OidcPages.expired()), expire(stateCookie(state), "/oidc/callback"));
        }
        OidcProvider.Login login;
        try {
            login = provider.finish(code, s.request());
        } catch (OidcProvider.Unavailable e) {
            log.warn("OIDC: login failed: {}", e.getMessage());
            return page(HttpResponseStatus.SERVICE_UNAVAILABLE, OidcPages.unavailable());
        } catch (OidcProvider.Rejected e) {
            log.warn("OIDC: login refused: {}", e.getMessage());
            return page(HttpResponseStatus.FORBIDDEN, OidcPages.failed("The identity provider's answer could not be verified."));
        }
        OidcClaims claims = login.claims();
        String identity = claims.identifier();
        Optional<OidcClaims.Denial> denial = claims.authorize(provider.config());
        if (denial.isPresent()) {
            log.info("OIDC: login of {} denied: {}", identity, denial.get().reason());
            return page(HttpResponseStatus.FORBIDDEN, OidcPages.denied(denial.get().reason()));
        }
        if (s.authId().startsWith(SSH_CHECK)) return sshCheckPassed(s.authId().substring(SSH_CHECK.length()), claims, state);
        // A registration that ran out meanwhile: say so before storing anything.
        if (registrations.pending(s.authId()).isEmpty()) return page(HttpResponseStatus.GONE, OidcPages.expired());
        User user;
        try {
            user = upsertUser(claims);
        } catch (StoreException e) {
            log.warn("OIDC: cannot store user {}: {}", identity, e.getMessage());
            return page(HttpResponseStatus.INTERNAL_SERVER_ERROR, OidcPages.failed("Your account could not be stored. Tell the network's administrator."));
        }
        Optional<PendingRegistration> p = registrations.pending(s.authId());
        if (p.isEmpty()) return page(HttpResponseStatus.GONE, OidcPages.expired());
        Instant expiry = provider.config().useExpiryFromToken() ? login.tokenExpiry() : null;
        String csrf = random(32);
        steps.confirming(s.authId(), new LoginSteps.Confirmation(user.id(), expiry, csrf, clock.instant()));
        var hi = p.get().request().hostinfo();
        String hostname = hi == null || hi.hostname() == null ? "(unnamed)" : hi.hostname();
        String os = hi == null || hi.os() == null ? "" : hi.os();
        String mkey = p.get().machineKey().toString();
        String shortKey = mkey.length() > 16 ? mkey.substring(0, 16) + "…" : mkey;
        String action = "/register/confirm/" + s.authId();
        FullHttpResponse r = page(HttpResponseStatus.OK, OidcPages.confirm(action, CONFIRM_FIELD, csrf, display(user), hostname, os, shortKey));
        r.headers().add(HttpHeaderNames.SET_COOKIE, expire(stateCookie(state), "/oidc/callback"));
        r.headers().add(HttpHeaderNames.SET_COOKIE, cookie(CONFIRM_FIELD, csrf, action, LOGIN_TTL, CookieHeaderNames.SameSite.Strict));
        return r;
    }

    /**
     * The end of an SSH check's login (Headscale's SSH-check callback): no confirmation page, since nothing is
     * registered; the check passes only if the person who logged in owns the connection's source node.
     */
    private FullHttpResponse sshCheckPassed(String authId, OidcClaims claims, String state) {
        SshActions checks = sshChecks;
        if (checks == null || checks.waiting(authId).isEmpty()) return page(HttpResponseStatus.GONE, OidcPages.sshExpired());
        User user;
        try {
            user = upsertUser(claims);
        } catch (StoreException e) {
            log.warn("OIDC: cannot store user {}: {}", claims.identifier(), e.getMessage());
            return page(HttpResponseStatus.INTERNAL_SERVER_ERROR, OidcPages.failed("Your account could not be stored. Tell the network's administrator."));
        }
        FullHttpResponse r = switch (checks.passByLogin(authId, user)) {
            case PASSED -> page(HttpResponseStatus.OK, OidcPages.sshPassed(display(user)));
            case NOT_OWNER -> page(HttpResponseStatus.FORBIDDEN, OidcPages.sshRefused(
                    "You are signed in as " + display(user) + ", but the device you connect from belongs to someone else."));
            case NO_OWNER -> page(HttpResponseStatus.FORBIDDEN, OidcPages.sshRefused(
                    "The device you connect from is tagged: it belongs to no person who could sign in for it."));
            case EXPIRED -> page(HttpResponseStatus.GONE, OidcPages.sshExpired());
        };
        r.headers().add(HttpHeaderNames.SET_COOKIE, expire(stateCookie(state), "/oidc/callback"));
        return r;
    }

    private FullHttpResponse confirm(FullHttpRequest req, String authId) {
        if (!AUTH_ID.matcher(authId).matches()) return page(HttpResponseStatus.BAD_REQUEST, OidcPages.failed("This registration link is malformed."));
        if (req.content().readableBytes() > 4096) return page(HttpResponseStatus.BAD_REQUEST, OidcPages.failed("The form is too large."));
        QueryStringDecoder form = new QueryStringDecoder("?" + req.content().toString(StandardCharsets.UTF_8));
        String formToken = param(form, CONFIRM_FIELD);
        String cookieToken = cookies(req).get(CONFIRM_FIELD);
        if (formToken.isEmpty() || cookieToken == null || !constantTimeEquals(formToken, cookieToken)) {
            badInput.warn("csrf", "OIDC: registration confirmation without a matching CSRF token");
            return page(HttpResponseStatus.FORBIDDEN, OidcPages.failed("This confirmation was not sent from the page Lattice showed in this browser."));
        }
        LoginSteps.Confirmation c = steps.takeConfirmation(authId, formToken, clock.instant()).orElse(null);
        if (c == null) return page(HttpResponseStatus.GONE, OidcPages.expired());
        Optional<User> user = tailnet.userOrStored(c.userId()); // the callback may have created it on another replica
        Optional<PendingRegistration> p = registrations.pending(authId);
        if (user.isEmpty() || p.isEmpty()) return page(HttpResponseStatus.GONE, OidcPages.expired());
        boolean isNew = registrations.existingForUser(p.get().machineKey(), user.get().id()).isEmpty();
        TailnetNode node;
        try {
            node = registrations.complete(authId, user.get(), RegisterMethod.OIDC, c.nodeExpiry());
        } catch (Tags.NotPermitted e) {
            return page(HttpResponseStatus.FORBIDDEN, OidcPages.failed(e.getMessage()));
        } catch (IllegalArgumentException e) {
            return page(HttpResponseStatus.GONE, OidcPages.expired());
        }
        log.atInfo().setMessage("OIDC: node {} ({}) registered to {}").addArgument(node.id()).addArgument(node.givenName())
                .addArgument(user.get().name()).addKeyValue("node_id", node.id()).addKeyValue("user", user.get().name()).log();
        FullHttpResponse r = page(HttpResponseStatus.OK, OidcPages.success(display(user.get()), isNew));
        r.headers().add(HttpHeaderNames.SET_COOKIE, expire(CONFIRM_FIELD, "/register/confirm/" + authId));
        return r;
    }

    /**
     * Headscale's {@code createOrUpdateUserFromClaim}: the user is found by (issuer, subject); display name, email
     * (when it may be trusted), picture and groups follow the claims at every login. A new user's name is the
     * preferred_username if it is a valid and free user name, else the email, else {@code oidc-} and a digest of the
     * identity (Lattice's user names are unique; Headscale allows duplicates across providers).
     */
    private User upsertUser(OidcClaims claims) {
        String id = claims.identifier();
        String email = claims.trustedEmail(provider.config().emailVerifiedRequired()).orElse("");
        List<String> names = new ArrayList<>();
        if (AdminApi.validUserName(claims.preferredUsername())) names.add(claims.preferredUsername());
        if (AdminApi.validUserName(email)) names.add(email);
        names.add("oidc-" + digest(id));
        Optional<User> before = tailnet.store().users().byProviderId(id);
        User u = tailnet.store().users().upsertFromProvider(User.PROVIDER_OIDC, id, names, claims.name(), email,
                claims.safePicture(), claims.groups());
        if (before.isEmpty() || !before.get().equals(u)) {
            // Profiles are in every netmap, and groups in the policy: both see the change (a recompile if needed).
            tailnet.announceFull();
        }
        log.atInfo().setMessage("OIDC: {} logged in as user {} ({})").addArgument(id).addArgument(u.name())
                .addArgument(before.isEmpty() ? "new" : "existing").addKeyValue("user", u.name())
                .addKeyValue("groups", String.join(",", u.groups())).log();
        return u;
    }

    private static String display(User u) {
        if (u.displayName() != null && !u.displayName().isEmpty()) return u.displayName();
        return u.email() != null && !u.email().isEmpty() ? u.email() : u.name();
    }

    private static String stateCookie(String state) {
        return "state_" + state.substring(0, Math.min(STATE_PREFIX, state.length()));
    }

    private String cookie(String name, String value, String path, Duration maxAge, CookieHeaderNames.SameSite sameSite) {
        DefaultCookie c = new DefaultCookie(name, value);
        c.setPath(path);
        c.setMaxAge(maxAge.toSeconds());
        c.setHttpOnly(true);
        c.setSecure(secureCookies);
        c.setSameSite(sameSite);
        return ServerCookieEncoder.STRICT.encode(c);
    }

    private String expire(String name, String path) {
        DefaultCookie c = new DefaultCookie(name, "");
        c.setPath(path);
        c.setMaxAge(0);
        c.setHttpOnly(true);
        c.setSecure(secureCookies);
        return ServerCookieEncoder.STRICT.encode(c);
    }

    private static FullHttpResponse withCookie(FullHttpResponse r, String setCookie) {
        r.headers().add(HttpHeaderNames.SET_COOKIE, setCookie);
        return r;
    }

    private static Map<String, String> cookies(FullHttpRequest req) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String h : req.headers().getAll(HttpHeaderNames.COOKIE)) {
            for (Cookie c : ServerCookieDecoder.LAX.decode(h)) out.putIfAbsent(c.name(), c.value());
        }
        return out;
    }

    private static String param(QueryStringDecoder q, String name) {
        List<String> v = q.parameters().get(name);
        return v == null || v.isEmpty() ? "" : v.getFirst();
    }

    private static FullHttpResponse page(HttpResponseStatus status, String html) {
        FullHttpResponse r = HttpResponses.of(status, "text/html; charset=utf-8", html.getBytes(StandardCharsets.UTF_8));
        noStore(r);
        return r;
    }

    private static void noStore(FullHttpResponse r) {
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        // The callback URL carries the code: never pass it on as a referrer.
        r.headers().set("Referrer-Policy", "no-referrer");
        r.headers().set("X-Frame-Options", "DENY");
    }

    private static boolean constantTimeEquals(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    private static String random(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static String digest(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
