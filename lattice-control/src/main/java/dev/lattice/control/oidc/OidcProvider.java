package dev.lattice.control.oidc;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWT;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.GeneralException;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenErrorResponse;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientAuthentication;
import com.nimbusds.oauth2.sdk.auth.ClientAuthenticationMethod;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.ClientSecretPost;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.oauth2.sdk.token.AccessToken;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.UserInfoRequest;
import com.nimbusds.openid.connect.sdk.UserInfoResponse;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import dev.lattice.control.config.ControlConfig;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The identity provider as the Nimbus OAuth 2.0 / OpenID Connect SDK sees it: its discovery document (fetched from
 * {@code issuer/.well-known/openid-configuration} at start and, while that fails, again at most every
 * {@link #RETRY_EVERY} on demand), the authorization request, the code exchange, ID token validation (signature by a
 * key of its JWKS, fetched again when a token names a key not seen before, so key rotation just works; {@code iss},
 * {@code aud}, {@code exp}, {@code nonce}) and the userinfo endpoint. Never logs codes, tokens or the client secret.
 */
public final class OidcProvider {
    private static final Logger log = LoggerFactory.getLogger(OidcProvider.class);
    static final Duration RETRY_EVERY = Duration.ofSeconds(10);
    private static final int TIMEOUT_MS = 10_000;

    /** The identity provider could not be reached, or answered something unusable. */
    public static final class Unavailable extends Exception {
        private static final long serialVersionUID = 1L;

        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The provider refused the code, or its ID token did not validate: the login fails, nothing is registered. */
    public static final class Rejected extends Exception {
        private static final long serialVersionUID = 1L;

        Rejected(String message) {
            super(message);
        }
    }

    /** What the authorization redirect needs again at the callback. */
    public record Request(URI redirect, State state, Nonce nonce, CodeVerifier verifier) {}

    /** A validated login: the claims (token's, merged with userinfo's) and when the ID token expires. */
    public record Login(OidcClaims claims, Instant tokenExpiry) {}

    private record Resolved(OIDCProviderMetadata metadata, IDTokenValidator validator) {}

    private final ControlConfig.Oidc cfg;
    private final URI callback;
    private final Clock clock;
    private volatile Resolved resolved;
    private Instant lastAttempt = Instant.MIN;
    private String lastFailure = "not tried yet";

    public OidcProvider(ControlConfig.Oidc cfg, URI serverUrl, Clock clock) {
        this.cfg = cfg;
        this.callback = callbackUrl(serverUrl);
        this.clock = clock;
    }

    public URI callbackUrl() {
        return callback;
    }

    /** Headscale's redirect URI: {@code server_url} (without a trailing slash) + {@code /oidc/callback}. */
    public static URI callbackUrl(URI serverUrl) {
        String base = serverUrl.toString();
        return URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/oidc/callback");
    }

    public ControlConfig.Oidc config() {
        return cfg;
    }

    /** Discovery now (at start): throws when the provider cannot be reached or its document is unusable. */
    public void discover() throws Unavailable {
        metadata(true);
    }

    private synchronized Resolved metadata(boolean force) throws Unavailable {
        Resolved r = resolved;
        if (r != null) return r;
        Instant now = clock.instant();
        if (!force && now.isBefore(lastAttempt.plus(RETRY_EVERY))) {
            throw new Unavailable("the identity provider is unavailable (" + lastFailure + ")", null);
        }
        lastAttempt = now;
        try {
            OIDCProviderMetadata md = OIDCProviderMetadata.resolve(new Issuer(cfg.issuer().toString()), TIMEOUT_MS, TIMEOUT_MS);
            if (md.getTokenEndpointURI() == null || md.getJWKSetURI() == null) {
                throw new Unavailable("the identity provider's discovery document lacks a token endpoint or JWKS", null);
            }
            List<JWSAlgorithm> algs = md.getIDTokenJWSAlgs() == null || md.getIDTokenJWSAlgs().isEmpty()
                    ? List.of(JWSAlgorithm.RS256) : md.getIDTokenJWSAlgs();
            Set<JWSAlgorithm> asymmetric = new HashSet<>();
            for (JWSAlgorithm a : algs) if (!JWSAlgorithm.Family.HMAC_SHA.contains(a) && !a.equals(JWSAlgorithm.NONE)) asymmetric.add(a);
            // Refetched when a token names an unknown key id (rate limited), cached otherwise.
            JWKSource<SecurityContext> keys = JWKSourceBuilder.<SecurityContext>create(md.getJWKSetURI().toURL()).retrying(true).build();
            IDTokenValidator v = new IDTokenValidator(md.getIssuer(), new ClientID(cfg.clientId()),
                    new JWSVerificationKeySelector<>(asymmetric, keys), null);
            resolved = new Resolved(md, v);
            log.info("OIDC: identity provider {} discovered", cfg.issuer());
            return resolved;
        } catch (IOException | GeneralException | IllegalArgumentException e) {
            lastFailure = e.getClass().getSimpleName() + ": " + e.getMessage();
            throw new Unavailable("the identity provider at " + cfg.issuer() + " is not available (" + lastFailure + ")", e);
        }
    }

    /** The URL to send the browser to, and what to remember for the callback. */
    public Map.Entry<URI, Request> authorization() throws Unavailable {
        Resolved r = metadata(false);
        State state = new State(32);
        Nonce nonce = new Nonce(32);
        CodeVerifier verifier = cfg.pkceEnabled() ? new CodeVerifier() : null;
        AuthenticationRequest.Builder b = new AuthenticationRequest.Builder(ResponseType.CODE,
                new Scope(cfg.scope().toArray(String[]::new)), new ClientID(cfg.clientId()), callback)
                .endpointURI(r.metadata().getAuthorizationEndpointURI()).state(state).nonce(nonce);
        if (verifier != null) {
            b.codeChallenge(verifier, cfg.pkceMethod() == ControlConfig.PkceMethod.PLAIN ? CodeChallengeMethod.PLAIN : CodeChallengeMethod.S256);
            b.customParameter("access_type", "offline"); // as Headscale sends it with PKCE
        }
        for (var e : cfg.extraParams().entrySet()) b.customParameter(e.getKey(), e.getValue());
        return Map.entry(b.build().toURI(), new Request(callback, state, nonce, verifier));
    }

    /** Exchanges the code, validates the ID token against the request's nonce, and merges the userinfo claims. */
    public Login finish(String code, Request req) throws Unavailable, Rejected {
        Resolved r = metadata(false);
        TokenRequest tokenRequest = tokenRequest(r.metadata(), new AuthorizationCodeGrant(new AuthorizationCode(code), req.redirect(), req.verifier()));
        TokenResponse response;
        try {
            HTTPRequest http = tokenRequest.toHTTPRequest();
            http.setConnectTimeout(TIMEOUT_MS);
            http.setReadTimeout(TIMEOUT_MS);
            response = OIDCTokenResponseParser.parse(http.send());
        } catch (IOException e) {
            throw new Unavailable("the identity provider's token endpoint is not reachable (" + e.getMessage() + ")", e);
        } catch (ParseException e) {
            throw new Rejected("the identity provider's token response is malformed");
        }
        if (!response.indicatesSuccess()) {
            ErrorObject err = ((TokenErrorResponse) response).getErrorObject();
            throw new Rejected("the identity provider refused the authorization code (" + (err == null ? "no error" : err.getCode()) + ")");
        }
        OIDCTokenResponse ok = (OIDCTokenResponse) response.toSuccessResponse();
        JWT idToken = ok.getOIDCTokens().getIDToken();
        if (idToken == null) throw new Rejected("the identity provider sent no ID token (is the openid scope granted?)");
        IDTokenClaimsSet claims;
        try {
            claims = r.validator().validate(idToken, req.nonce());
        } catch (BadJOSEException | JOSEException e) {
            throw new Rejected("the ID token is not valid (" + e.getMessage() + ")");
        }
        OidcClaims c = OidcClaims.of(claims.toJSONObject(), cfg.groupsClaim());
        Map<String, Object> userinfo = userinfo(r.metadata(), ok.getOIDCTokens().getAccessToken());
        return new Login(c.withUserinfo(userinfo, cfg.groupsClaim()), claims.getExpirationTime().toInstant());
    }

    private TokenRequest tokenRequest(OIDCProviderMetadata md, AuthorizationCodeGrant grant) {
        ClientID id = new ClientID(cfg.clientId());
        if (cfg.clientSecret().isEmpty()) return new TokenRequest.Builder(md.getTokenEndpointURI(), id, grant).build();
        List<ClientAuthenticationMethod> methods = md.getTokenEndpointAuthMethods();
        // client_secret_basic is the default when the provider names none (RFC 8414).
        ClientAuthentication auth = methods != null && !methods.contains(ClientAuthenticationMethod.CLIENT_SECRET_BASIC)
                && methods.contains(ClientAuthenticationMethod.CLIENT_SECRET_POST)
                ? new ClientSecretPost(id, new Secret(cfg.clientSecret()))
                : new ClientSecretBasic(id, new Secret(cfg.clientSecret()));
        return new TokenRequest.Builder(md.getTokenEndpointURI(), auth, grant).build();
    }

    /** The userinfo claims, or null (Headscale goes on with the ID token's claims when this fails). */
    private Map<String, Object> userinfo(OIDCProviderMetadata md, AccessToken token) {
        if (md.getUserInfoEndpointURI() == null || token == null) return null;
        try {
            HTTPRequest http = new UserInfoRequest(md.getUserInfoEndpointURI(), token).toHTTPRequest();
            http.setConnectTimeout(TIMEOUT_MS);
            http.setReadTimeout(TIMEOUT_MS);
            HTTPResponse resp = http.send();
            UserInfoResponse ui = UserInfoResponse.parse(resp);
            if (!ui.indicatesSuccess()) {
                log.info("OIDC: userinfo refused ({}); using the ID token's claims only", ui.toErrorResponse().getErrorObject().getCode());
                return null;
            }
            return ui.toSuccessResponse().getUserInfo().toJSONObject();
        } catch (IOException | ParseException e) {
            log.info("OIDC: userinfo failed ({}); using the ID token's claims only", e.getClass().getSimpleName());
            return null;
        }
    }
}
