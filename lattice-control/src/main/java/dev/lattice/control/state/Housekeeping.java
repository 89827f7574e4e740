package dev.lattice.control.state;

import dev.lattice.control.store.TailnetNode;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Periodic tailnet upkeep, run every few seconds: deletes ephemeral nodes that have been offline longer than the
 * inactivity timeout (headscale's ephemeral GC), and tells peers when a node's key expires so they mark it expired.
 * With replicas, a node is deleted only if the database too says no live replica holds a stream of it: this replica's
 * view of the others may be a notification behind.
 */
public final class Housekeeping implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(Housekeeping.class);

    private final Tailnet tailnet;
    private final Duration ephemeralTimeout;
    private final Set<Long> knownExpired = new HashSet<>();
    private final java.util.function.LongPredicate offlineEverywhere;

    public Housekeeping(Tailnet tailnet, Duration ephemeralTimeout) {
        this(tailnet, ephemeralTimeout, id -> true);
    }

    /** @param offlineEverywhere asked last, before an ephemeral node is deleted: whether no replica holds its stream */
    public Housekeeping(Tailnet tailnet, Duration ephemeralTimeout, java.util.function.LongPredicate offlineEverywhere) {
        this.tailnet = tailnet;
        this.ephemeralTimeout = ephemeralTimeout;
        this.offlineEverywhere = offlineEverywhere;
    }

    @Override
    public synchronized void run() {
        try {
            Instant now = tailnet.now();
            for (TailnetNode n : tailnet.nodes()) {
                if (n.ephemeral() && !tailnet.isOnline(n.id())) {
                    Instant since = n.lastSeen() != null ? n.lastSeen() : n.created();
                    if (since != null && since.plus(ephemeralTimeout).isBefore(now) && offlineEverywhere.test(n.id())) {
                        log.info("deleting ephemeral node {} ({}): offline since {}", n.id(), n.givenName(), since);
                        tailnet.delete(n.id());
                        continue;
                    }
                }
                if (n.isExpired(now)) {
                    if (knownExpired.add(n.id())) tailnet.announce(n.id());
                } else {
                    knownExpired.remove(n.id());
                }
            }
        } catch (RuntimeException e) {
            log.warn("housekeeping failed: {}", e.toString());
        }
    }
}
