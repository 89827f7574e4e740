package dev.lattice.agent.peerapi;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The peer API's routes (tailscale's {@code RegisterPeerAPIHandler}): exact paths, and prefixes, which win over
 * exact paths (the longest first). A path ending in "/" registered with {@link #register} is a prefix, as in
 * tailscale; Taildrop ({@code /v0/put/}) and Serve's {@code /v0/ingress} plug in here.
 */
public final class PeerApiRoutes {
    private final Map<String, PeerApiHandler> exact = new ConcurrentHashMap<>();
    private final Map<String, PeerApiHandler> prefixes = new ConcurrentHashMap<>();

    /** Registers {@code handler} at {@code path} ("/v0/foo"; "/v0/foo/" for everything under it). */
    public PeerApiRoutes register(String path, PeerApiHandler handler) {
        check(path);
        if (path.endsWith("/") && path.length() > 1) return registerPrefix(path, handler);
        if (exact.putIfAbsent(path, handler) != null) throw new IllegalStateException("duplicate peer API handler " + path);
        return this;
    }

    /** Registers {@code handler} for every path starting with {@code prefix} (tailscale's {@code /dns-query} match). */
    public PeerApiRoutes registerPrefix(String prefix, PeerApiHandler handler) {
        check(prefix);
        if (prefixes.putIfAbsent(prefix, handler) != null) throw new IllegalStateException("duplicate peer API handler " + prefix);
        return this;
    }

    /** The handler for {@code path}, or null. */
    public PeerApiHandler find(String path) {
        List<String> ps = prefixes.keySet().stream().sorted(Comparator.comparingInt(String::length).reversed()).toList();
        for (String p : ps) if (path.startsWith(p)) return prefixes.get(p);
        return exact.get(path);
    }

    private static void check(String path) {
        if (path == null || !path.startsWith("/")) throw new IllegalArgumentException("a peer API path starts with /: " + path);
    }
}
