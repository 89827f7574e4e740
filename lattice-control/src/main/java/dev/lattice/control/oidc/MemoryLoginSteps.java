package dev.lattice.control.oidc;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** {@link LoginSteps} in this process's memory (one server): at most {@code max} of each, the oldest dropped. */
final class MemoryLoginSteps implements LoginSteps {
    private final Duration ttl;
    private final Map<String, Started> started;
    private final Map<String, Confirmation> confirmations;

    MemoryLoginSteps(Duration ttl, int max) {
        this.ttl = ttl;
        this.started = bounded(max);
        this.confirmations = bounded(max);
    }

    private static <V> Map<String, V> bounded(int max) {
        return new LinkedHashMap<>(16, 0.75f, false) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
                return size() > max;
            }
        };
    }

    @Override
    public void started(String state, Started s) {
        synchronized (started) {
            started.values().removeIf(x -> x.created().plus(ttl).isBefore(s.created()));
            started.put(state, s);
        }
    }

    @Override
    public Optional<Started> takeStarted(String state, Instant now) {
        Started s;
        synchronized (started) {
            s = started.remove(state);
        }
        return s == null || s.created().plus(ttl).isBefore(now) ? Optional.empty() : Optional.of(s);
    }

    @Override
    public void confirming(String authId, Confirmation c) {
        synchronized (confirmations) {
            confirmations.values().removeIf(x -> x.created().plus(ttl).isBefore(c.created()));
            confirmations.put(authId, c);
        }
    }

    @Override
    public Optional<Confirmation> takeConfirmation(String authId, String csrf, Instant now) {
        synchronized (confirmations) {
            Confirmation c = confirmations.get(authId);
            if (c == null || !LoginSteps.constantTimeEquals(c.csrf(), csrf) || c.created().plus(ttl).isBefore(now)) {
                return Optional.empty();
            }
            confirmations.remove(authId);
            return Optional.of(c);
        }
    }
}
