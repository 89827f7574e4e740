package dev.lattice.control.certs;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiPredicate;

/**
 * The ACME challenge TXT values nodes asked for, by record name, each kept for {@link #LIFETIME}.
 *
 * <p>In memory on purpose: a value matters only while the CA validates the order it belongs to (seconds to minutes),
 * and after a restart the client simply asks again with its next order, so persisting it would only leave stale
 * records behind. Each value remembers the node that set it, so a name that changed owner (rename, delete) stops
 * answering with the old node's values at once.
 */
public final class AcmeChallenges {
    /** How long a value is served: an ACME order's validation takes seconds; tailscale's client gives up long before. */
    public static final Duration LIFETIME = Duration.ofMinutes(10);
    /** Values kept per name (the newest): an order for a name and its wildcard needs two; retries add a few. */
    static final int MAX_VALUES_PER_NAME = 8;

    private record Value(long nodeId, String text, Instant expires) {}

    private final Map<String, List<Value>> byName = new ConcurrentHashMap<>();

    /** Adds {@code value} for {@code name} (set by node {@code nodeId}); an identical value is refreshed, not repeated. */
    public void put(String name, long nodeId, String value, Instant now) {
        byName.compute(key(name), (k, old) -> {
            List<Value> out = new ArrayList<>(old == null ? List.of() : old);
            out.removeIf(v -> !v.expires().isAfter(now) || (v.text().equals(value) && v.nodeId() == nodeId));
            out.add(new Value(nodeId, value, now.plus(LIFETIME)));
            while (out.size() > MAX_VALUES_PER_NAME) out.removeFirst();
            return List.copyOf(out);
        });
    }

    /**
     * The live values for {@code name}, oldest first: not expired at {@code now} and set by a node that
     * {@code owns} the name still.
     */
    public List<String> values(String name, Instant now, BiPredicate<Long, String> owns) {
        String k = key(name);
        List<Value> vs = byName.get(k);
        if (vs == null) return List.of();
        List<String> out = new ArrayList<>(vs.size());
        for (Value v : vs) if (v.expires().isAfter(now) && owns.test(v.nodeId(), k)) out.add(v.text());
        return out;
    }

    /** Drops what expired (run now and then; lookups skip expired values anyway). */
    public void purge(Instant now) {
        byName.replaceAll((k, vs) -> vs.stream().filter(v -> v.expires().isAfter(now)).toList());
        byName.values().removeIf(List::isEmpty);
    }

    /** Names with values (expired ones included until the next purge). */
    public int size() {
        return byName.size();
    }

    /** Lower case, without the trailing dot: how names are compared. */
    public static String key(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }
}
