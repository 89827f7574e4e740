package dev.lattice.control.oidc;

import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.Nonce;
import dev.lattice.control.store.OidcLogins;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * {@link LoginSteps} in the database ({@link OidcLogins}), for replicas behind a balancer without stickiness: the
 * callback may reach another replica than {@code /register/ID} did, and the button yet another. The database decides
 * which take wins. Values are space-separated fields, none of which can hold a space (ids, URL-safe tokens, a URI).
 */
final class StoredLoginSteps implements LoginSteps {
    private static final String STARTED = "started";
    private static final String CONFIRMING = "confirming";

    private final OidcLogins rows;
    private final Duration ttl;

    StoredLoginSteps(OidcLogins rows, Duration ttl) {
        this.rows = rows;
        this.ttl = ttl;
    }

    @Override
    public void started(String state, Started s) {
        OidcProvider.Request r = s.request();
        String v = String.join(" ", s.authId(), r.redirect().toString(), r.state().getValue(), r.nonce().getValue(),
                r.verifier() == null ? "-" : r.verifier().getValue());
        rows.put(STARTED, state, v, s.created(), s.created().minus(ttl));
    }

    @Override
    public Optional<Started> takeStarted(String state, Instant now) {
        Optional<String> v = rows.get(STARTED, state, now.minus(ttl));
        if (v.isEmpty() || !rows.take(STARTED, state, v.get())) return Optional.empty();
        String[] f = v.get().split(" ");
        var request = new OidcProvider.Request(URI.create(f[1]), new State(f[2]), new Nonce(f[3]),
                f[4].equals("-") ? null : new CodeVerifier(f[4]));
        return Optional.of(new Started(f[0], request, now));
    }

    @Override
    public void confirming(String authId, Confirmation c) {
        String v = String.join(" ", Long.toString(c.userId()),
                c.nodeExpiry() == null ? "-" : Long.toString(c.nodeExpiry().toEpochMilli()), c.csrf());
        rows.put(CONFIRMING, authId, v, c.created(), c.created().minus(ttl));
    }

    @Override
    public Optional<Confirmation> takeConfirmation(String authId, String csrf, Instant now) {
        Optional<String> v = rows.get(CONFIRMING, authId, now.minus(ttl));
        if (v.isEmpty()) return Optional.empty();
        String[] f = v.get().split(" ");
        if (!LoginSteps.constantTimeEquals(f[2], csrf) || !rows.take(CONFIRMING, authId, v.get())) return Optional.empty();
        return Optional.of(new Confirmation(Long.parseLong(f[0]), f[1].equals("-") ? null : Instant.ofEpochMilli(Long.parseLong(f[1])),
                f[2], now));
    }
}
