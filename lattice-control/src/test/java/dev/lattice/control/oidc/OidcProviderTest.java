package dev.lattice.control.oidc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import dev.lattice.control.config.ControlConfig;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ID token validation and discovery against a provider that misbehaves on demand: every token that is not exactly
 * right (another key, expired, for another client or issuer, another login's nonce, a symmetric signature) is
 * rejected; a rotated key is fetched; a provider that is down is asked again, but not on every request.
 */
class OidcProviderTest {
    static final String SECRET = "a-client-secret-long-enough-for-hs256-0123456789";
    FakeIdp idp;
    OidcProvider provider;
    Instant now = Instant.now();
    final Clock clock = new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };

    @BeforeEach
    void start() throws Exception {
        idp = new FakeIdp();
        ControlConfig.Oidc cfg = ControlConfig.parse("oidc:\n  issuer: " + idp.issuer + "\n  client_id: lattice\n  client_secret: " + SECRET
                + "\n  pkce:\n    enabled: true\n", Path.of("")).oidc();
        provider = new OidcProvider(cfg, URI.create("https://ctl.example.org"), clock);
    }

    @AfterEach
    void stop() {
        idp.close();
    }

    @Test
    void theAuthorizationRequestCarriesStateNonceChallengeAndTheCallback() throws Exception {
        var a = provider.authorization();
        String q = a.getKey().getRawQuery();
        assertThat(a.getKey().toString()).startsWith(idp.issuer + "/auth?");
        assertThat(q).contains("response_type=code").contains("client_id=lattice").contains("scope=openid+profile+email")
                .contains("redirect_uri=https%3A%2F%2Fctl.example.org%2Foidc%2Fcallback")
                .contains("state=" + a.getValue().state().getValue()).contains("nonce=" + a.getValue().nonce().getValue())
                .contains("code_challenge_method=S256").contains("code_challenge=").doesNotContain(SECRET);
        assertThat(a.getValue().state().getValue()).hasSizeGreaterThanOrEqualTo(40);
    }

    @Test
    void aGoodTokenGivesTheClaimsAndItsExpiry() throws Exception {
        var req = provider.authorization().getValue();
        var claims = idp.claims(req.nonce().getValue(), b -> b);
        idp.nextToken = idp.sign(claims, idp.signing);
        OidcProvider.Login login = provider.finish("code-1", req);
        assertThat(login.claims().identifier()).isEqualTo(idp.issuer + "/user-1");
        assertThat(login.claims().preferredUsername()).isEqualTo("dana");
        assertThat(login.claims().groups()).containsExactly("eng");
        assertThat(login.claims().emailVerified()).isTrue();
        assertThat(login.tokenExpiry()).isEqualTo(claims.getExpirationTime().toInstant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
    }

    @Test
    void badTokensAreRejected() throws Exception {
        RSAKey stranger = FakeIdp.newKey("k1"); // same key id, another key: a forged signature
        record Case(String what, Object token) {}
        var req = provider.authorization().getValue();
        String nonce = req.nonce().getValue();
        long past = System.currentTimeMillis() - 600_000;
        List<Case> cases = List.of(
                new Case("signed by a key the provider does not publish", idp.sign(idp.claims(nonce, b -> b), stranger)),
                new Case("expired", idp.sign(idp.claims(nonce, b -> b.expirationTime(new Date(past)).issueTime(new Date(past - 300_000))), idp.signing)),
                new Case("for another client", idp.sign(idp.claims(nonce, b -> b.audience("someone-else")), idp.signing)),
                new Case("from another issuer", idp.sign(idp.claims(nonce, b -> b.issuer("https://evil.example")), idp.signing)),
                new Case("another login's nonce", idp.sign(idp.claims("n-of-another-login", b -> b), idp.signing)),
                new Case("without a nonce", idp.sign(idp.claims(nonce, b -> b.claim("nonce", null)), idp.signing)),
                new Case("HS256 with the client secret", idp.signHmac(idp.claims(nonce, b -> b), SECRET)));
        for (Case c : cases) {
            idp.nextToken = (String) c.token();
            assertThatThrownBy(() -> provider.finish("code", req)).as(c.what()).isInstanceOf(OidcProvider.Rejected.class)
                    .hasMessageStartingWith("the ID token is not valid");
        }
        idp.nextToken = "!{\"error\":\"invalid_grant\",\"error_description\":\"Code not valid\"}";
        assertThatThrownBy(() -> provider.finish("code", req)).isInstanceOf(OidcProvider.Rejected.class)
                .hasMessage("the identity provider refused the authorization code (invalid_grant)");
    }

    @Test
    void aRotatedKeyIsFetchedWhenATokenNamesIt() throws Exception {
        var req = provider.authorization().getValue();
        idp.nextToken = idp.sign(idp.claims(req.nonce().getValue(), b -> b), idp.signing);
        provider.finish("c", req);
        int fetches = idp.jwksFetches.get();

        RSAKey next = FakeIdp.newKey("k2");
        idp.published = new JWKSet(List.of(idp.signing.toPublicJWK(), next.toPublicJWK()));
        idp.signing = next;
        var req2 = provider.authorization().getValue();
        idp.nextToken = idp.sign(idp.claims(req2.nonce().getValue(), b -> b), next);
        assertThat(provider.finish("c2", req2).claims().subject()).isEqualTo("user-1");
        assertThat(idp.jwksFetches.get()).isGreaterThan(fetches);
    }

    @Test
    void aProviderThatIsDownIsAskedAgainAtMostEveryTenSeconds() throws Exception {
        idp.up = false;
        assertThatThrownBy(provider::discover).isInstanceOf(OidcProvider.Unavailable.class)
                .hasMessageContaining("is not available");
        idp.up = true;
        // Within the retry interval the last failure stands, without a request to the provider.
        assertThatThrownBy(provider::authorization).isInstanceOf(OidcProvider.Unavailable.class);
        now = now.plus(OidcProvider.RETRY_EVERY).plusSeconds(1);
        assertThat(provider.authorization().getKey().getPath()).isEqualTo("/realm/auth");
    }

    @Test
    void claimsFollowHeadscale() {
        OidcClaims c = OidcClaims.of(Map.of("iss", "https://sso.example/", "sub", "/abc", "groups", "solo",
                "email_verified", "true", "email", "a@example.com"), "groups");
        assertThat(c.identifier()).isEqualTo("https://sso.example/abc");
        assertThat(c.groups()).containsExactly("solo");
        assertThat(c.emailVerified()).isTrue();
        assertThat(OidcClaims.clean(" https://sso.example//realms/ x //u ")).isEqualTo("https://sso.example/realms/x/u");
        assertThat(OidcClaims.of(Map.of("iss", "https://sso.example", "sub", ".."), "groups").identifier()).isEqualTo("https://sso.example/..");
        // userinfo fills in, but only for the same subject
        OidcClaims merged = c.withUserinfo(Map.of("sub", "/abc", "name", "A", "groups", List.of("x", "y")), "groups");
        assertThat(merged.name()).isEqualTo("A");
        assertThat(merged.groups()).containsExactly("x", "y");
        assertThat(c.withUserinfo(Map.of("sub", "other", "name", "B"), "groups").name()).isEmpty();
        assertThat(OidcClaims.of(Map.of("picture", "javascript:alert(1)"), "groups").safePicture()).isEmpty();
    }

    @Test
    void authorizationIsHeadscales() {
        ControlConfig.Oidc cfg = ControlConfig.parse("oidc:\n  issuer: https://sso.example\n  client_id: x\n"
                + "  allowed_domains: [example.com]\n  allowed_groups: [eng]\n", Path.of("")).oidc();
        OidcClaims ok = new OidcClaims("i", "s", "", "", "a@example.com", true, "", List.of("eng"));
        assertThat(ok.authorize(cfg)).isEmpty();
        assertThat(new OidcClaims("i", "s", "", "", "a@example.com", true, "", List.of("ops")).authorize(cfg)).isPresent();
        assertThat(new OidcClaims("i", "s", "", "", "a@example.org", true, "", List.of("eng")).authorize(cfg)).isPresent();
        assertThat(new OidcClaims("i", "s", "", "", "a@example.com", false, "", List.of("eng")).authorize(cfg).orElseThrow().reason())
                .contains("not verified");
    }
}
