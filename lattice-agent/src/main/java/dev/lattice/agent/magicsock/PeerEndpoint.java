package dev.lattice.agent.magicsock;

import dev.lattice.crypto.NaclBox;
import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wireguard.conn.Endpoint;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Path state for one peer (tailscale's {@code endpoint}): its disco key, the candidate UDP addresses, and the best
 * address a disco pong has proven. Pure logic over a caller-supplied monotonic {@code now} (nanoseconds) so that
 * trust expiry and address choice can be tested with a fake clock; the magic socket does the sending.
 *
 * <p>Mutators are synchronized; {@link #directPath} reads volatile fields only because it runs for every packet.
 */
final class PeerEndpoint {
    /** How long a pong keeps a UDP address trusted (tailscale's trustUDPAddrDuration). */
    static final long TRUST_NANOS = 6_500_000_000L;
    /** Pings to the best address while traffic flows (heartbeatInterval). */
    static final long HEARTBEAT_NANOS = 3_000_000_000L;
    /** Full pings to every candidate while there is no trusted path (discoPingInterval). */
    static final long PING_INTERVAL_NANOS = 5_000_000_000L;
    /** A peer with no traffic for this long gets no pings (sessionActiveTimeout). */
    static final long ACTIVE_NANOS = 45_000_000_000L;
    /** Candidates learned from pings or CallMeMaybe expire when they have not ponged for this long. */
    static final long CANDIDATE_TTL_NANOS = 120_000_000_000L;
    /** Cap on candidates kept per peer, so a peer cannot grow our state without bound. */
    static final int MAX_CANDIDATES = 32;

    final NodePublicKey key;
    volatile DiscoPublicKey disco;
    volatile NaclBox.SharedKey shared;
    volatile int homeRegion;
    volatile String name = "";
    volatile String firstIp = "";
    /** The endpoint a peer without disco is sent to (its first advertised endpoint), else null. */
    volatile Endpoint staticPath;

    private volatile Endpoint best;
    private long bestLatency = Long.MAX_VALUE;
    private volatile long trustUntil;
    volatile long lastSend;
    volatile long lastRx;
    volatile long lastRxWallMillis;
    volatile int lastDerpRxRegion;
    long lastFullPing = Long.MIN_VALUE / 2;
    long lastHeartbeat = Long.MIN_VALUE / 2;
    long lastCallMeMaybePing = Long.MIN_VALUE / 2;

    private final Map<Endpoint, Candidate> candidates = new LinkedHashMap<>();

    /** A UDP address the peer may be reached at. {@code advertised}: from control, kept until the next netmap. */
    static final class Candidate {
        final Endpoint ep;
        boolean advertised;
        long addedAt;
        long lastPong = Long.MIN_VALUE / 2;
        long latency = Long.MAX_VALUE;

        Candidate(Endpoint ep, boolean advertised, long now) {
            this.ep = ep;
            this.advertised = advertised;
            this.addedAt = now;
        }
    }

    PeerEndpoint(NodePublicKey key) {
        this.key = key;
    }

    /** The trusted direct address, or null (relay). Never blocks. */
    Endpoint directPath(long now) {
        if (disco == null) return staticPath;
        Endpoint b = best;
        return b != null && now - trustUntil < 0 ? b : null;
    }

    boolean trusted(long now) {
        return best != null && now - trustUntil < 0;
    }

    synchronized Endpoint best() {
        return best;
    }

    synchronized long bestLatencyNanos() {
        return bestLatency;
    }

    /** Replaces the control-advertised candidates; ones learned from pings or CallMeMaybe stay. */
    /** Sets the endpoints control advertises for the peer; true if one of them is new. */
    synchronized boolean setAdvertised(List<InetSocketAddress> eps, long now) {
        boolean added = false;
        candidates.values().forEach(c -> c.advertised = false);
        for (InetSocketAddress a : eps) {
            if (TailnetAddrs.contains(a.getAddress())) continue;
            Candidate c = candidates.get(Endpoint.of(a));
            if (c != null) c.advertised = true;
            else if (candidates.size() < MAX_CANDIDATES) {
                candidates.put(Endpoint.of(a), new Candidate(Endpoint.of(a), true, now));
                added = true;
            }
        }
        candidates.values().removeIf(c -> !c.advertised && now - c.addedAt > CANDIDATE_TTL_NANOS && now - c.lastPong > CANDIDATE_TTL_NANOS);
        return added;
    }

    /** Adds an address learned from a ping or CallMeMaybe; false if it was known or the table is full. */
    synchronized boolean addCandidate(Endpoint ep, long now) {
        if (TailnetAddrs.contains(ep.address().getAddress())) return false;
        Candidate c = candidates.get(ep);
        if (c != null) {
            c.addedAt = now;
            return false;
        }
        if (candidates.size() >= MAX_CANDIDATES) return false;
        candidates.put(ep, new Candidate(ep, false, now));
        return true;
    }

    synchronized List<Endpoint> candidates() {
        return new ArrayList<>(candidates.keySet());
    }

    /**
     * A pong proved {@code from} with round trip {@code latency}: it becomes the best address when there is none,
     * when the current one is no longer trusted, or when it is clearly better; the best address's trust is renewed.
     */
    synchronized void pongReceived(Endpoint from, long latency, long now) {
        Candidate c = candidates.get(from);
        if (c == null && candidates.size() < MAX_CANDIDATES) {
            c = new Candidate(from, false, now);
            candidates.put(from, c);
        }
        if (c != null) {
            c.lastPong = now;
            c.latency = latency;
        }
        if (best == null || now - trustUntil >= 0 || from.equals(best) || better(from, latency, best, bestLatency)) {
            best = from;
            bestLatency = latency;
            trustUntil = now + TRUST_NANOS;
        }
    }

    /** Forgets the direct path (the peer's disco key changed, or we rebound: old proofs mean nothing). */
    synchronized void resetPath() {
        best = null;
        bestLatency = Long.MAX_VALUE;
        trustUntil = 0;
    }

    boolean active(long now) {
        return now - lastSend < ACTIVE_NANOS || now - lastRx < ACTIVE_NANOS;
    }

    /** No trusted path, traffic wants one, and the last full ping round is old enough. */
    synchronized boolean wantsFullPing(long now) {
        return disco != null && !trusted(now) && now - lastFullPing >= PING_INTERVAL_NANOS;
    }

    /** A trusted path carrying traffic whose last heartbeat is old enough. */
    synchronized boolean wantsHeartbeat(long now) {
        return disco != null && trusted(now) && active(now) && now - lastHeartbeat >= HEARTBEAT_NANOS;
    }

    /**
     * Tailscale's betterAddr, simplified: lower latency wins by more than 1 %, with a bonus for addresses that
     * tend to stay put (loopback, link-local, private) and a smaller one for IPv6.
     */
    static boolean better(Endpoint a, long latA, Endpoint b, long latB) {
        if (a.equals(b)) return false;
        double sa = latA * factor(a.address().getAddress());
        double sb = latB * factor(b.address().getAddress());
        return sa < sb * 0.99;
    }

    private static double factor(InetAddress ip) {
        double f = 1.0;
        if (ip.isLoopbackAddress() || ip.isLinkLocalAddress() || ip.isSiteLocalAddress() || isUniqueLocal(ip)) f *= 0.9;
        if (ip instanceof java.net.Inet6Address) f *= 0.95;
        return f;
    }

    private static boolean isUniqueLocal(InetAddress ip) {
        byte[] b = ip.getAddress();
        return b.length == 16 && (b[0] & 0xfe) == 0xfc;
    }
}
