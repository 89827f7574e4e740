package dev.lattice.agent.localapi;

import dev.lattice.agent.ipn.Backend;
import dev.lattice.agent.ipn.BackendException;
import dev.lattice.agent.ipn.BackendState;
import dev.lattice.agent.ipn.MaskedPrefs;
import dev.lattice.agent.ipn.NetcheckReport;
import dev.lattice.agent.ipn.PeerStatus;
import dev.lattice.agent.ipn.PingResult;
import dev.lattice.agent.ipn.Status;
import dev.lattice.agent.ipn.UpRequest;
import dev.lattice.agent.ipn.UpResult;
import dev.lattice.agent.ipn.WhoIsResponse;
import dev.lattice.agent.state.Prefs;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** A scriptable Backend: tests set its state, peers and ping answers, and read back the calls it got. */
public final class FakeBackend implements Backend {
    public volatile BackendState state = BackendState.Running;
    public volatile String authUrl;
    public volatile UpResult upResult = new UpResult(BackendState.Running, null);
    /** Status polls left before the state becomes Running after an interactive up (-1: never). */
    public volatile int pollsUntilRunning = -1;
    public final List<UpRequest> ups = new ArrayList<>();
    public final List<String> calls = new ArrayList<>();
    public final Deque<Object> pings = new ArrayDeque<>(); // PingResult, BackendException, or Duration (sleep)
    public volatile List<String> health = List.of();
    public PeerStatus self = peer("n1", "me", "me.tail.example.", "linux", 1, "100.64.0.1", "fd7a:115c:a1e0::1");
    public final Map<String, PeerStatus> peers = new TreeMap<>();
    public final Map<String, Status.UserProfileJson> users = new TreeMap<>(Map.of(
            "1", new Status.UserProfileJson(1, "alice@example.com", "Alice"),
            "2", new Status.UserProfileJson(2, "bob", "Bob")));
    public NetcheckReport netcheck;
    public volatile Status.ExitNodeStatus exitNodeStatus;
    public Prefs prefs = Prefs.defaults();
    public final List<MaskedPrefs> edits = new ArrayList<>();
    /** What editPrefs refuses with (400), or null to apply the change. */
    public volatile String refuseEdit;
    /** What up refuses with (400), or null. */
    public volatile String upRefusal;
    /** check-ip-forwarding's answer, and the routes it was asked about. */
    public volatile String forwardingWarning;
    public final List<List<String>> forwardingChecks = new ArrayList<>();

    public static PeerStatus peer(String id, String host, String dns, String os, long user, String... ips) {
        return new PeerStatus(id, "nodekey:" + id, host, dns, os, user, List.of(ips), List.of(ips), List.of(), null, List.of(), "", "",
                0, 0, null, null, null, true, false, false, false, null, false);
    }

    /** The waits of ups that named one ({@code up --timeout}). */
    public final List<java.time.Duration> upWaits = new ArrayList<>();

    @Override
    public synchronized UpResult up(UpRequest request, java.time.Duration wait) throws BackendException {
        upWaits.add(wait);
        return up(request);
    }

    @Override
    public synchronized UpResult up(UpRequest request) throws BackendException {
        calls.add("up");
        ups.add(request);
        if (request.authKey() != null && request.authKey().equals("bad")) throw new BackendException(401, "invalid key: bad");
        if (upRefusal != null) throw new BackendException(400, upRefusal);
        state = upResult.state();
        authUrl = upResult.authUrl();
        return upResult;
    }

    @Override
    public synchronized void down() {
        calls.add("down");
        state = BackendState.Stopped;
    }

    @Override
    public synchronized void logout() {
        calls.add("logout");
        state = BackendState.NeedsLogin;
    }

    @Override
    public synchronized Status status() {
        calls.add("status");
        if (pollsUntilRunning == 0) {
            state = BackendState.Running;
            authUrl = null;
        }
        if (pollsUntilRunning > 0) pollsUntilRunning--;
        return new Status("1.2.3-test", state, authUrl, self.tailscaleIps(), self, health, "tail.example.",
                new Status.Tailnet("example", "tail.example.", true), exitNodeStatus, new TreeMap<>(peers), users);
    }

    @Override
    public synchronized Prefs prefs() {
        calls.add("prefs");
        return prefs;
    }

    @Override
    public synchronized Prefs editPrefs(MaskedPrefs change) throws BackendException {
        calls.add("editPrefs");
        edits.add(change);
        if (refuseEdit != null) throw new BackendException(400, refuseEdit);
        prefs = change.applyTo(prefs);
        return prefs;
    }

    @Override
    public synchronized String checkIpForwarding(List<String> routes) {
        calls.add("check-ip-forwarding");
        forwardingChecks.add(List.copyOf(routes));
        return forwardingWarning;
    }

    @Override
    public PingResult ping(String target, Duration timeout) throws BackendException {
        Object next;
        synchronized (this) {
            calls.add("ping " + target + " " + timeout.toMillis());
            next = pings.poll();
        }
        if (next == null) throw new BackendException(500, "no scripted ping");
        if (next instanceof Duration d) {
            try {
                Thread.sleep(d);
            } catch (InterruptedException e) {
                throw new BackendException(503, "interrupted");
            }
            throw new BackendException(500, "slept");
        }
        if (next instanceof BackendException e) throw e;
        return (PingResult) next;
    }

    @Override
    public NetcheckReport netcheck() throws BackendException {
        if (netcheck == null) throw new BackendException(503, "netcheck unavailable");
        return netcheck;
    }

    @Override
    public WhoIsResponse whois(String address) throws BackendException {
        for (PeerStatus p : peers.values()) {
            if (p.tailscaleIps().contains(address)) return new WhoIsResponse(p, users.get(Long.toString(p.userId())));
        }
        throw new BackendException(404, "no node has address " + address);
    }

    /** What {@link #cert} answers per domain (a pair, or a BackendException); {@link #setDns} calls are recorded. */
    public final Map<String, Object> certs = new java.util.HashMap<>();
    public final List<String> setDnsCalls = new ArrayList<>();

    @Override
    public synchronized dev.lattice.agent.cert.CertPair cert(String domain) throws BackendException {
        calls.add("cert " + domain);
        Object c = certs.get(domain);
        if (c instanceof BackendException e) throw e;
        if (c == null) throw new BackendException(400, "invalid domain \"" + domain + "\"; must be one of [\"me.tail.example\"]");
        return (dev.lattice.agent.cert.CertPair) c;
    }

    @Override
    public synchronized void setDns(String name, String value) throws BackendException {
        setDnsCalls.add(name + "=" + value);
        if (!name.equals("_acme-challenge.me.tail.example")) {
            throw new BackendException(500, "set-dns response: 403, a node may only set _acme-challenge.me.tail.example");
        }
    }

    public static Instant ago(Duration d) {
        return Instant.now().minus(d);
    }

    public dev.lattice.agent.serve.ServeConfig serve = dev.lattice.agent.serve.ServeConfig.EMPTY;
    /** The node's capabilities for Funnel checks; null checks the config's shape only. */
    public java.util.Set<String> caps;

    @Override
    public synchronized dev.lattice.agent.serve.ServeConfig serveConfig() {
        return serve;
    }

    @Override
    public synchronized void setServeConfig(dev.lattice.agent.serve.ServeConfig c, String etag) throws BackendException {
        if (etag != null && !etag.isEmpty() && !etag.equals(serve.etag())) throw new BackendException(412, "etag mismatch");
        try {
            dev.lattice.agent.serve.ServeValidation.validate(c, caps);
        } catch (IllegalArgumentException e) {
            throw new BackendException(400, e.getMessage());
        }
        serve = c;
    }
}
