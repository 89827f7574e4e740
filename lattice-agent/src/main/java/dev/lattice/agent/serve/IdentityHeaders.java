package dev.lattice.agent.serve;

import dev.lattice.agent.peerapi.Peer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The headers a proxied request carries about who sent it, as tailscale's {@code addTailscaleIdentityHeaders}
 * sets them: whatever the client put in these headers is removed first (so nobody can claim another identity);
 * then, for a peer owned by a user (not a tagged node), its login, display name and picture.
 */
public final class IdentityHeaders {
    public static final String LOGIN = "Tailscale-User-Login";
    public static final String NAME = "Tailscale-User-Name";
    public static final String PROFILE_PIC = "Tailscale-User-Profile-Pic";
    public static final String HEADERS_INFO = "Tailscale-Headers-Info";
    /** Set (to {@code ?1}) on requests that came through Funnel, which carry no identity. */
    public static final String FUNNEL_REQUEST = "Tailscale-Funnel-Request";
    /** The peer's capabilities a handler accepts (AcceptAppCaps), as JSON. */
    public static final String APP_CAPABILITIES = "Tailscale-App-Capabilities";
    public static final String INFO_URL = "https://tailscale.com/s/serve-headers";
    /** Removed from every incoming request, lower case. */
    static final Set<String> STRIPPED = Set.of("tailscale-user-login", "tailscale-user-name", "tailscale-user-profile-pic",
            "tailscale-funnel-request", "tailscale-headers-info", "tailscale-app-capabilities");

    private IdentityHeaders() {}

    /** Whether a client-sent header must not reach the backend. */
    public static boolean stripped(String name) {
        return STRIPPED.contains(name.toLowerCase(Locale.ROOT));
    }

    /** The identity headers for {@code peer} (none for an unknown source or a tagged node). */
    public static Map<String, String> of(Peer peer) {
        Map<String, String> h = new LinkedHashMap<>();
        if (peer == null || peer.user() == null) return h;
        List<String> tags = peer.node().tags();
        if (tags != null && !tags.isEmpty()) return h; // tailscale: no identity headers for tagged nodes
        h.put(LOGIN, encode(peer.user().loginName()));
        h.put(NAME, encode(peer.user().displayName()));
        h.put(PROFILE_PIC, peer.user().profilePicUrl() == null ? "" : peer.user().profilePicUrl());
        h.put(HEADERS_INFO, INFO_URL);
        return h;
    }

    /**
     * A value made fit for a header as Go's {@code mime.QEncoding.Encode("utf-8", v)} does: printable ASCII as is,
     * anything else one RFC 2047 Q-encoded word (Go splits words past 75 bytes; we do not).
     */
    static String encode(String v) {
        if (v == null) return "";
        boolean plain = true;
        for (int i = 0; i < v.length() && plain; i++) {
            char c = v.charAt(i);
            plain = (c >= ' ' && c <= '~') || c == '\t';
        }
        if (plain) return v;
        byte[] b;
        try {
            java.nio.ByteBuffer bb = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).encode(java.nio.CharBuffer.wrap(v));
            b = new byte[bb.remaining()];
            bb.get(b);
        } catch (CharacterCodingException e) {
            return ""; // not valid UTF-16 (a lone surrogate): Go drops invalid UTF-8 the same way
        }
        StringBuilder s = new StringBuilder("=?utf-8?q?");
        for (byte x : b) {
            int c = x & 0xff;
            if (c == ' ') s.append('_');
            else if (c > ' ' && c <= '~' && c != '=' && c != '?' && c != '_') s.append((char) c);
            else s.append('=').append(String.format("%02X", c));
        }
        return s.append("?=").toString();
    }
}
