package dev.lattice.control.oidc;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * A minimal identity provider for what Keycloak will not do on demand: sign with a key it does not publish, rotate
 * keys, hand out an expired or misaddressed ID token, or be down. Serves discovery, a JWKS and a token endpoint; the
 * test decides what the next token is.
 */
public final class FakeIdp implements AutoCloseable {
    final HttpServer http;
    public final URI issuer;
    public volatile RSAKey signing;
    volatile JWKSet published;
    volatile boolean up = true;
    /** What the next token endpoint call answers: an ID token (or a {@code !}-prefixed JSON error body). */
    public volatile String nextToken;
    final AtomicInteger jwksFetches = new AtomicInteger();

    public FakeIdp() throws Exception {
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        issuer = URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/realm");
        signing = newKey("k1");
        published = new JWKSet(signing.toPublicJWK());
        http.createContext("/realm/.well-known/openid-configuration", ex -> {
            if (!up) {
                send(ex, 503, "text/plain", "down");
                return;
            }
            send(ex, 200, "application/json", """
                    {"issuer":"%1$s","authorization_endpoint":"%1$s/auth","token_endpoint":"%1$s/token","jwks_uri":"%1$s/jwks",
                     "response_types_supported":["code"],"subject_types_supported":["public"],
                     "id_token_signing_alg_values_supported":["RS256"],"token_endpoint_auth_methods_supported":["client_secret_basic"]}
                    """.formatted(issuer));
        });
        http.createContext("/realm/jwks", ex -> {
            jwksFetches.incrementAndGet();
            send(ex, 200, "application/json", published.toString(true));
        });
        http.createContext("/realm/token", ex -> {
            ex.getRequestBody().readAllBytes();
            String t = nextToken;
            if (t != null && t.startsWith("!")) {
                send(ex, 400, "application/json", t.substring(1));
                return;
            }
            send(ex, 200, "application/json", "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\",\"expires_in\":300,\"id_token\":\"" + t + "\"}");
        });
        http.start();
    }

    static RSAKey newKey(String kid) throws Exception {
        return new RSAKeyGenerator(2048).keyID(kid).generate();
    }

    /** Claims a good token for {@code nonce} has; {@code edit} changes them. */
    public JWTClaimsSet claims(String nonce, UnaryOperator<JWTClaimsSet.Builder> edit) {
        long now = System.currentTimeMillis();
        JWTClaimsSet.Builder b = new JWTClaimsSet.Builder().issuer(issuer.toString()).subject("user-1").audience("lattice")
                .issueTime(new Date(now)).expirationTime(new Date(now + 300_000)).claim("nonce", nonce)
                .claim("email", "dana@example.com").claim("email_verified", true).claim("preferred_username", "dana")
                .claim("name", "Dana Scully").claim("groups", List.of("eng")).claim("picture", "https://example.com/dana.png");
        return edit.apply(b).build();
    }

    public String sign(JWTClaimsSet claims, RSAKey key) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    /** HS256 with the client secret as key: a symmetric signature Lattice must not accept from a discovered provider. */
    String signHmac(JWTClaimsSet claims, String secret) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    @Override
    public void close() {
        http.stop(0);
    }
}
