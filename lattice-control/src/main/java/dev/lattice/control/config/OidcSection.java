package dev.lattice.control.config;

import dev.lattice.control.config.ControlConfig.Oidc;
import dev.lattice.control.config.ControlConfig.PkceMethod;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the {@code oidc} section the way Headscale v0.29 does (same keys, same defaults: scope
 * {@code [openid, profile, email]}, {@code email_verified_required} and {@code only_start_if_oidc_is_available} true,
 * PKCE off with method S256), with the checks Headscale leaves to the first login made at load time: a client id,
 * the {@code openid} scope, a known PKCE method. {@code client_secret_path} has its environment variables expanded
 * ({@code ${CREDENTIALS_DIRECTORY}/oidc_client_secret}, for systemd's LoadCredential) and its content trimmed.
 */
final class OidcSection {
    private static final Pattern ENV = Pattern.compile("\\$\\{([^}]*)}|\\$([A-Za-z0-9_]+)");
    static final List<String> DEFAULT_SCOPE = List.of("openid", "profile", "email");
    static final java.util.Set<String> RESERVED_PARAMS = java.util.Set.of("response_type", "client_id", "redirect_uri", "scope",
            "state", "nonce", "code_challenge", "code_challenge_method");

    private OidcSection() {}

    static Oidc read(Section s, Function<String, Path> paths) {
        return read(s, paths, System::getenv);
    }

    static Oidc read(Section s, Function<String, Path> paths, Function<String, String> env) {
        // Removed keys Headscale refuses to start with, with its pointers.
        if (s.has("expiry")) s.fail("expiry", "removed, use node.expiry (or oidc.use_expiry_from_token)");
        if (s.has("strip_email_domain")) s.fail("strip_email_domain", "removed in Headscale 0.26");
        if (s.has("map_legacy_users")) s.fail("map_legacy_users", "removed in Headscale 0.26");

        URI issuer = s.parsed("issuer", null, OidcSection::issuer);
        String clientId = s.string("client_id", "");
        String secret = s.string("client_secret", "");
        String secretPath = s.string("client_secret_path", "");
        if (!secret.isEmpty() && !secretPath.isEmpty()) {
            s.fail("client_secret_path", "oidc.client_secret and oidc.client_secret_path are mutually exclusive");
        }
        List<String> scope = s.has("scope") ? s.strings("scope") : DEFAULT_SCOPE;
        Map<String, String> extra = s.stringMap("extra_params");
        for (String k : extra.keySet()) {
            // These carry the login's own protection and routing: a fixed value would defeat it.
            if (RESERVED_PARAMS.contains(k)) {
                s.fail("extra_params", "\"" + k + "\" is set by Lattice for each login and cannot be configured");
            }
        }
        List<String> domains = s.strings("allowed_domains");
        List<String> users = s.strings("allowed_users");
        List<String> groups = s.strings("allowed_groups");
        boolean verified = s.bool("email_verified_required", true);
        boolean tokenExpiry = s.bool("use_expiry_from_token", false);
        boolean onlyStart = s.bool("only_start_if_oidc_is_available", true);
        Section pkce = s.section("pkce");
        boolean pkceOn = pkce.bool("enabled", false);
        PkceMethod method = pkce.parsed("method", PkceMethod.S256, t -> switch (t) {
            case "S256" -> PkceMethod.S256;
            case "plain" -> PkceMethod.PLAIN;
            default -> throw new IllegalArgumentException("pkce.method must be either 'plain' or 'S256'");
        });
        pkce.finish();
        String groupsClaim = s.string("groups_claim", "groups");
        if (groupsClaim.isBlank()) s.fail("groups_claim", "must not be empty (the default is groups)");
        // Headscale's oidc.enabled only gates its PKCE check; OIDC itself is on exactly when issuer is set.
        boolean enabledKey = s.has("enabled");
        boolean enabled = s.bool("enabled", true);
        s.finish();

        if (issuer == null) {
            if (s.has("client_id") || s.has("client_secret") || s.has("client_secret_path") || s.has("allowed_domains")
                    || s.has("allowed_users") || s.has("allowed_groups")) {
                s.warn("oidc: oidc.issuer is not set, so OIDC login is off and the other oidc keys have no effect");
            }
            return new Oidc(null, clientId, "", scope, extra, domains, users, groups, verified, tokenExpiry, onlyStart,
                    pkceOn, method, groupsClaim);
        }
        if (enabledKey && !enabled) {
            s.warn("oidc.enabled: false has no effect: OIDC login is on because oidc.issuer is set (as in Headscale); "
                    + "remove oidc.issuer to turn it off");
        }
        if (clientId.isEmpty()) s.fail("client_id", "must be set when oidc.issuer is set");
        if (!scope.contains("openid")) s.fail("scope", "invalid value " + scope + " (must include openid)");
        if (!secretPath.isEmpty()) secret = readSecret(s, paths, env, secretPath);
        if (secret.isEmpty() && !pkceOn) {
            s.warn("oidc: no client_secret or client_secret_path: the identity provider must accept a public client "
                    + "(consider pkce.enabled: true)");
        }
        return new Oidc(issuer, clientId, secret, scope, extra, domains, users, groups, verified, tokenExpiry, onlyStart,
                pkceOn, method, groupsClaim);
    }

    private static String readSecret(Section s, Function<String, Path> paths, Function<String, String> env, String raw) {
        List<String> unset = new ArrayList<>();
        String expanded = expandEnv(raw, env, unset);
        Path file = paths.apply(expanded);
        String hint = unset.isEmpty() ? "" : " (" + String.join(", ", unset) + (unset.size() == 1 ? " is" : " are") + " not set)";
        if (file == null) s.fail("client_secret_path", "\"" + raw + "\" expands to an empty path" + hint);
        try {
            String secret = Files.readString(file).strip();
            if (secret.isEmpty()) s.fail("client_secret_path", "the file " + file + " is empty");
            return secret;
        } catch (NoSuchFileException e) {
            throw new ConfigException(s.path("client_secret_path") + ": the file " + file + " does not exist" + hint);
        } catch (IOException e) {
            throw new ConfigException(s.path("client_secret_path") + ": cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Go's {@code os.ExpandEnv}: {@code $NAME} and {@code ${NAME}}, unset variables become empty. */
    static String expandEnv(String text, Function<String, String> env, List<String> unset) {
        Matcher m = ENV.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(1) != null ? m.group(1) : m.group(2);
            String v = env.apply(name);
            if (v == null) {
                unset.add(name);
                v = "";
            }
            m.appendReplacement(out, Matcher.quoteReplacement(v));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static URI issuer(String text) {
        if (!text.startsWith("https://") && !text.startsWith("http://")) {
            throw new IllegalArgumentException("must start with https:// or http://");
        }
        try {
            URI u = new URI(text);
            if (u.getHost() == null || u.getHost().isEmpty()) throw new IllegalArgumentException("no host");
            if (u.getQuery() != null || u.getFragment() != null) throw new IllegalArgumentException("must not have a query or fragment");
            return u;
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a URL");
        }
    }
}
