package dev.lattice.control.sshcheck;

import dev.lattice.control.auth.Registrations;
import dev.lattice.control.machine.HttpError;
import dev.lattice.control.netmap.PacketPolicy;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.SshChecks;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Headscale's {@code SSHActionHandler}: a node with Tailscale SSH that meets a {@code check} rule fetches
 * {@code /machine/ssh/action/SRC/to/DST} (the rule's {@code holdAndDelegate} URL) over its ts2021 connection.
 * <ol>
 * <li>The first request: if the pair passed a check within the rule's {@code checkPeriod}, {@code accept}; else a new
 *     check bound to (SRC, DST), answered with {@code holdAndDelegate} (the same URL with {@code auth_id}) and a
 *     message with the login URL, {@code SERVER/auth/AUTH_ID}, which tailscaled shows to the person connecting.</li>
 * <li>The follow-up (with {@code auth_id}) waits until the source node's owner has logged in there (OIDC) or an
 *     admin ran {@code auth approve}/{@code auth reject}, then answers {@code accept} or {@code reject}. A follow-up
 *     still waiting after {@link #HOLD} is told to hold again at the same URL, so no request stays open for long.</li>
 * </ol>
 * Only the destination node may ask (its machine key must be the connection's), a follow-up must name the pair its
 * check was made for, and the period is read from the policy, never from the URL. The checks are in the database,
 * so the client, the browser and the admin may each reach another replica.
 */
public final class SshActions {
    private static final Logger log = LoggerFactory.getLogger(SshActions.class);
    /** As Headscale's auth cache: a check must be decided within 15 minutes. */
    public static final Duration TTL = Duration.ofMinutes(15);
    /** How long a follow-up waits for the verdict before it is told to ask again. */
    static final Duration HOLD = Duration.ofSeconds(25);
    private static final Duration POLL = Duration.ofMillis(200);
    /** Checks that may wait at once for one destination node. */
    static final int MAX_WAITING = 64;
    public static final Pattern AUTH_ID = Pattern.compile("[A-Za-z0-9]{24}");

    /** What a login at {@code /auth/ID} did to the check. */
    public enum Outcome { PASSED, NOT_OWNER, NO_OWNER, EXPIRED }

    private final Tailnet tailnet;
    private final SshChecks checks;
    private final Supplier<PacketPolicy> policy;
    private final String serverUrl;
    private final Clock clock;
    private final Duration hold;

    public SshActions(Tailnet tailnet, Supplier<PacketPolicy> policy, URI serverUrl, Clock clock) {
        this(tailnet, policy, serverUrl, clock, HOLD);
    }

    SshActions(Tailnet tailnet, Supplier<PacketPolicy> policy, URI serverUrl, Clock clock, Duration hold) {
        this.tailnet = tailnet;
        this.checks = tailnet.store().sshChecks();
        this.policy = policy;
        String u = serverUrl.toString();
        this.serverUrl = u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
        this.clock = clock;
        this.hold = hold;
    }

    /**
     * The next tailcfg.SSHAction for the connection from node {@code src} to node {@code dst}, asked by the machine
     * {@code caller}; {@code authId} is null on the first request. Blocks up to {@link #HOLD} on a follow-up.
     *
     * @throws HttpError 404 unknown destination, 401 not the destination's machine or a pair other than the check's,
     *                   400 an unknown check where no check rule applies
     */
    public ObjectNode action(MachinePublicKey caller, long src, long dst, String authId) throws InterruptedException {
        TailnetNode dstNode = tailnet.node(dst).orElseThrow(() -> new HttpError(404, "dst node not found"));
        if (!dstNode.machineKey().equals(caller)) throw new HttpError(401, "machine key does not match dst node");
        Optional<TailnetNode> srcNode = tailnet.node(src);
        Optional<Duration> period = srcNode.flatMap(s -> policy.get().sshCheckPeriod(s, dstNode));
        if (authId == null || authId.isEmpty()) {
            if (period.isPresent() && period.get().isPositive()) {
                Optional<Instant> last = checks.lastPass(src, dst);
                if (last.isPresent() && last.get().plus(period.get()).isAfter(clock.instant())) return accept(null);
            }
            return holdAndDelegate(src, dst);
        }
        if (!AUTH_ID.matcher(authId).matches()) throw new HttpError(400, "Invalid auth_id");
        Optional<SshChecks.Check> check = checks.get(authId, clock.instant().minus(TTL));
        if (check.isEmpty()) {
            // Gone (expired, or from before a restore): a check that still applies starts over instead of failing.
            if (period.isPresent()) return holdAndDelegate(src, dst);
            throw new HttpError(400, "Invalid auth_id");
        }
        if (check.get().srcNode() != src || check.get().dstNode() != dst) {
            throw new HttpError(401, "src/dst pair does not match auth session");
        }
        Instant until = clock.instant().plus(hold);
        while (check.isPresent() && check.get().verdict().isEmpty() && clock.instant().isBefore(until)) {
            Thread.sleep(POLL.toMillis());
            check = checks.get(authId, clock.instant().minus(TTL));
        }
        if (check.isEmpty()) return period.isPresent() ? holdAndDelegate(src, dst) : reject("the SSH check expired");
        if (check.get().verdict().isEmpty()) return hold(url(authId), null);
        if (!check.get().verdict().get()) return reject("the SSH check was rejected");
        if (period.isPresent()) checks.recordPass(src, dst, clock.instant());
        return accept(null);
    }

    /** The check {@code authId} if it exists and waits for its verdict. */
    public Optional<SshChecks.Check> waiting(String authId) {
        if (authId == null || !AUTH_ID.matcher(authId).matches()) return Optional.empty();
        return checks.get(authId, clock.instant().minus(TTL)).filter(c -> c.verdict().isEmpty());
    }

    /** An admin's {@code auth approve}/{@code auth reject}: true if the check waited and now has this verdict. */
    public boolean decide(String authId, boolean accept, String by) {
        if (waiting(authId).isEmpty()) return false;
        boolean done = checks.decide(authId, accept, by, clock.instant());
        if (done) log.info("SSH check {} {} by {}", authId, accept ? "approved" : "rejected", by);
        return done;
    }

    /**
     * A login at {@code /auth/ID} as {@code user}: passes the check only if {@code user} owns the source node (a
     * tagged source has no owner who could prove anything), so a stolen node key alone cannot open SSH.
     */
    public Outcome passByLogin(String authId, User user) {
        Optional<SshChecks.Check> c = waiting(authId);
        if (c.isEmpty()) return Outcome.EXPIRED;
        Optional<TailnetNode> src = tailnet.node(c.get().srcNode());
        if (src.isEmpty()) return Outcome.EXPIRED;
        if (src.get().isTagged() || src.get().userId() == null) {
            log.warn("SSH check {}: source node {} is tagged and has no owner to log in; refused", authId, src.get().id());
            return Outcome.NO_OWNER;
        }
        if (!src.get().userId().equals(user.id())) {
            log.warn("SSH check {}: user {} logged in, but source node {} belongs to another user; refused", authId,
                    user.name(), src.get().id());
            return Outcome.NOT_OWNER;
        }
        return checks.decide(authId, true, "login:" + user.name(), clock.instant()) ? Outcome.PASSED : Outcome.EXPIRED;
    }

    /** Where the person connecting proves who they are. */
    public String authUrl(String authId) {
        return serverUrl + "/auth/" + authId;
    }

    private ObjectNode holdAndDelegate(long src, long dst) {
        Instant now = clock.instant();
        // Each first request stores a row for 15 minutes: a node that asks in a loop must not fill the database.
        if (checks.waitingFor(dst, now.minus(TTL)) >= MAX_WAITING) {
            throw new HttpError(429, "too many SSH checks waiting for this node; try again later");
        }
        String id = Registrations.newAuthId();
        checks.create(id, src, dst, now, now.minus(TTL));
        log.info("SSH check {} from node {} to node {}: waiting for the login at {}", id, src, dst, authUrl(id));
        return hold(url(id), "# Lattice SSH requires an additional check.\n# To authenticate, visit: " + authUrl(id)
                + "\n# Authentication checked with Lattice SSH.\n");
    }

    /** The rule's URL with the check's id; tailscaled fills in the $-variables again. */
    private String url(String authId) {
        return serverUrl + "/machine/ssh/action/$SRC_NODE_ID/to/$DST_NODE_ID?local_user=$LOCAL_USER&auth_id=" + authId;
    }

    private static ObjectNode hold(String url, String message) {
        ObjectNode a = base();
        if (message != null) a.put("message", message);
        a.put("holdAndDelegate", url);
        return a;
    }

    private static ObjectNode accept(String message) {
        ObjectNode a = base();
        if (message != null) a.put("message", message);
        a.put("accept", true);
        return a;
    }

    private static ObjectNode reject(String message) {
        ObjectNode a = Tailcfg.json().createObjectNode();
        a.put("message", message);
        a.put("reject", true);
        return a;
    }

    /** Headscale's action carries the forwarding permissions on every answer. */
    private static ObjectNode base() {
        ObjectNode a = Tailcfg.json().createObjectNode();
        a.put("allowAgentForwarding", true);
        a.put("allowLocalPortForwarding", true);
        a.put("allowRemotePortForwarding", true);
        return a;
    }
}
