package dev.lattice.agent.peerapi;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A peer API response, sent whole.
 *
 * @param headers extra headers (Content-Type and Content-Length are set from the other fields)
 */
public record PeerApiResponse(int status, String contentType, byte[] body, Map<String, String> headers) {
    public PeerApiResponse {
        if (status < 100 || status > 599) throw new IllegalArgumentException("bad HTTP status " + status);
        body = body == null ? new byte[0] : body;
        headers = Map.copyOf(headers);
    }

    public static PeerApiResponse ok(String contentType, byte[] body) {
        return new PeerApiResponse(200, contentType, body, Map.of());
    }

    /** An error as Go's {@code http.Error} writes it: the message and a newline as plain text, no sniffing. */
    public static PeerApiResponse error(int status, String message) {
        return new PeerApiResponse(status, "text/plain; charset=utf-8",
                (message + "\n").getBytes(StandardCharsets.UTF_8), Map.of("X-Content-Type-Options", "nosniff"));
    }

    public PeerApiResponse withHeader(String name, String value) {
        Map<String, String> h = new LinkedHashMap<>(headers);
        h.put(name, value);
        return new PeerApiResponse(status, contentType, body, h);
    }
}
