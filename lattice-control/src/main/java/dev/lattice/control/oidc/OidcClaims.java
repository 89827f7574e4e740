package dev.lattice.control.oidc;

import dev.lattice.control.config.ControlConfig;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What Lattice takes from an ID token (and the userinfo endpoint): Headscale's {@code OIDCClaims}, with the groups
 * from the configured claim. {@code groups} may arrive as a list or, from some providers (JumpCloud), as one string;
 * {@code email_verified} as a boolean or the string {@code "true"}.
 */
public record OidcClaims(String issuer, String subject, String name, String preferredUsername, String email,
                         boolean emailVerified, String picture, List<String> groups) {

    /** Why a login is refused: what the person is told. */
    public record Denial(String reason) {}

    public OidcClaims {
        groups = groups == null ? List.of() : List.copyOf(groups);
    }

    /** From a claims map (an ID token's); {@code groupsClaim} names the claim holding the groups. */
    public static OidcClaims of(Map<String, Object> m, String groupsClaim) {
        return new OidcClaims(str(m.get("iss")), str(m.get("sub")), str(m.get("name")), str(m.get("preferred_username")),
                str(m.get("email")), bool(m.get("email_verified")), str(m.get("picture")), strings(m.get(groupsClaim)));
    }

    /**
     * Headscale's merge of the userinfo endpoint's answer: used only when its subject is the token's, each value
     * replacing the token's when present, the groups when the claim is there at all.
     */
    public OidcClaims withUserinfo(Map<String, Object> u, String groupsClaim) {
        if (u == null || !subject.equals(str(u.get("sub")))) return this;
        return new OidcClaims(issuer, subject, or(str(u.get("name")), name), or(str(u.get("preferred_username")), preferredUsername),
                or(str(u.get("email")), email), u.containsKey("email_verified") ? bool(u.get("email_verified")) : emailVerified,
                or(str(u.get("picture")), picture), u.containsKey(groupsClaim) ? strings(u.get(groupsClaim)) : groups);
    }

    /**
     * Headscale's {@code Identifier()}: issuer without trailing slash + "/" + subject without leading slash, cleaned of
     * empty path segments (a subject of {@code ..} stays a segment, never resolved away).
     */
    public String identifier() {
        if (issuer.isEmpty() && subject.isEmpty()) return "";
        if (issuer.isEmpty()) return clean(subject);
        if (subject.isEmpty()) return clean(issuer);
        String iss = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
        String sub = subject.startsWith("/") ? subject.substring(1) : subject;
        return clean(iss + "/" + sub);
    }

    /** Headscale's {@code CleanIdentifier}: trimmed, no empty or blank path segments, the scheme in lower case. */
    static String clean(String id) {
        String t = id.strip();
        int scheme = t.indexOf("://");
        if (scheme > 0 && t.substring(0, scheme).matches("[A-Za-z][A-Za-z0-9+.-]*")) {
            String rest = t.substring(scheme + 3);
            int slash = rest.indexOf('/');
            String authority = slash < 0 ? rest : rest.substring(0, slash);
            String path = slash < 0 ? "" : rest.substring(slash);
            String joined = segments(path);
            return t.substring(0, scheme).toLowerCase(Locale.ROOT) + "://" + authority + (joined.isEmpty() ? "" : "/" + joined);
        }
        return segments(t);
    }

    private static String segments(String path) {
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) if (!p.isBlank()) parts.add(p.strip());
        return String.join("/", parts);
    }

    /** The email, when it may be trusted: verified, or verification not required. */
    public Optional<String> trustedEmail(boolean emailVerifiedRequired) {
        if (email.isEmpty() || (emailVerifiedRequired && !emailVerified)) return Optional.empty();
        int at = email.indexOf('@');
        if (at <= 0 || at != email.lastIndexOf('@') || at == email.length() - 1 || email.chars().anyMatch(Character::isWhitespace)) {
            return Optional.empty();
        }
        return Optional.of(email);
    }

    /**
     * Headscale's {@code doOIDCAuthorization}: allowed_groups always; allowed_domains and allowed_users (both compare
     * the email) only with an email that may be trusted, otherwise the login is refused as unverified.
     */
    public Optional<Denial> authorize(ControlConfig.Oidc cfg) {
        if (!cfg.allowedGroups().isEmpty() && cfg.allowedGroups().stream().noneMatch(groups::contains)) {
            return Optional.of(new Denial("You are not a member of a group allowed to use this network."));
        }
        boolean trustEmail = !cfg.emailVerifiedRequired() || emailVerified;
        boolean emailTests = !cfg.allowedDomains().isEmpty() || !cfg.allowedUsers().isEmpty();
        if (!trustEmail && emailTests) {
            return Optional.of(new Denial("Your email address is not verified at the identity provider."));
        }
        if (!cfg.allowedDomains().isEmpty()) {
            int at = email.lastIndexOf('@');
            if (at < 0 || !cfg.allowedDomains().contains(email.substring(at + 1))) {
                return Optional.of(new Denial("Your email domain is not allowed to use this network."));
            }
        }
        if (!cfg.allowedUsers().isEmpty() && !cfg.allowedUsers().contains(email)) {
            return Optional.of(new Denial("Your account is not allowed to use this network."));
        }
        return Optional.empty();
    }

    /** A profile picture only as an http(s) URL: anything else is not shown to clients. */
    public String safePicture() {
        try {
            URI u = URI.create(picture);
            return "https".equals(u.getScheme()) || "http".equals(u.getScheme()) ? picture : "";
        } catch (IllegalArgumentException e) {
            return "";
        }
    }

    private static String or(String a, String b) {
        return a.isEmpty() ? b : a;
    }

    private static String str(Object o) {
        return o instanceof String s ? s : "";
    }

    private static boolean bool(Object o) {
        return o instanceof Boolean b ? b : o instanceof String s && s.equalsIgnoreCase("true");
    }

    private static List<String> strings(Object o) {
        if (o instanceof String s) return s.isEmpty() ? List.of() : List.of(s);
        if (o instanceof List<?> l) {
            List<String> out = new ArrayList<>();
            for (Object e : l) if (e instanceof String s && !s.isEmpty()) out.add(s);
            return out;
        }
        return List.of();
    }
}
