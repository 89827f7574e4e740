package dev.lattice.agent.health;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code lattice status} lists under "# Health check:" and {@code status --json} as {@code Health}, decided as
 * tailscale's {@code health.Tracker} does for the warnings Lattice can observe, in its order (the first that applies
 * hides the later ones):
 * <ol>
 * <li>the user does not want to be up: {@link #STOPPED};
 * <li>the last login attempt failed (control unreachable, or refused): {@link #LOGIN_FAILED} with the error;
 * <li>no map long-poll for more than {@link #OUT_OF_POLL_GRACE} (control went away): {@link #OUT_OF_SYNC}, shown once
 *     it has lasted {@link #OUT_OF_SYNC_VISIBLE_AFTER} (tailscale's allowance for a control server's maintenance).
 * </ol>
 * and, besides those, {@link #STARTING} for {@link #WARMING_UP} after the user asked to be up, until Running, and
 * a warning about IP forwarding while this node offers routes the kernel will not forward.
 * Thread-safe; the control client's thread updates it, the local API reads it.
 */
public final class Health {
    public static final String STOPPED = "Lattice is stopped.";
    public static final String LOGIN_FAILED = "You are logged out. The last login error was: ";
    public static final String LOGGED_OUT = "You are logged out.";
    public static final String STARTING = "Lattice is starting. Please wait.";
    public static final String OUT_OF_SYNC = "Unable to connect to the coordination server to synchronize the state"
            + " of your tailnet. Peer reachability might degrade over time.";
    /** tailscale: a map poll that ended less than 10 s ago is a reconnect, not an outage. */
    public static final Duration OUT_OF_POLL_GRACE = Duration.ofSeconds(10);
    /** tailscale's warmingUpWarnableDuration. */
    public static final Duration WARMING_UP = Duration.ofSeconds(5);
    /** tailscale's notInMapPollWarnable TimeToVisible. */
    public static final Duration OUT_OF_SYNC_VISIBLE_AFTER = Duration.ofMinutes(8);

    private final Clock clock;
    private boolean wantRunning;
    private Instant wantRunningSince;
    private boolean wasRunning; // Running since we last wanted to be up: no longer warming up
    private String loginError; // null: the last attempt succeeded (or none yet)
    private boolean inMapPoll;
    private Instant mapPollEnded; // null: never polled
    private String ipForwarding; // null: fine, or nothing offered

    public Health(Clock clock) {
        this.clock = clock;
        this.wantRunningSince = clock.instant();
    }

    public synchronized void setWantRunning(boolean want) {
        if (want && !wantRunning) {
            wantRunningSince = clock.instant();
            wasRunning = false;
        }
        wantRunning = want;
    }

    /** The backend reached Running (control and the data plane are up). */
    public synchronized void running() {
        wasRunning = true;
    }

    /** A login attempt failed ({@code error}, a one-line message) or succeeded (null). */
    public synchronized void loginResult(String error) {
        loginError = error;
    }

    /** A map long-poll started (true) or ended (false). */
    public synchronized void mapPoll(boolean polling) {
        if (inMapPoll && !polling) mapPollEnded = clock.instant();
        inMapPoll = polling;
    }

    /** Whether a map long-poll is open (tailscale reports it as Self.Online). */
    public synchronized boolean inMapPoll() {
        return inMapPoll;
    }

    /** The IP forwarding problem of the routes this node offers (one line), or null. */
    public synchronized void ipForwarding(String warning) {
        ipForwarding = warning;
    }

    public synchronized List<String> warnings() {
        if (!wantRunning) return List.of(STOPPED);
        Instant now = clock.instant();
        List<String> out = new ArrayList<>(3);
        String w = connectionWarning(now);
        if (w != null) out.add(w);
        if (!wasRunning && now.isBefore(wantRunningSince.plus(WARMING_UP))) out.add(STARTING);
        if (ipForwarding != null) out.add(ipForwarding);
        return List.copyOf(out);
    }

    private String connectionWarning(Instant now) {
        if (loginError != null) return loginError.isEmpty() ? LOGGED_OUT : LOGIN_FAILED + loginError;
        if (inMapPoll) return null;
        // Broken since the poll ended (plus the grace), but not before we last wanted to be up.
        Instant brokenSince = wantRunningSince;
        if (mapPollEnded != null && mapPollEnded.plus(OUT_OF_POLL_GRACE).isAfter(brokenSince)) {
            brokenSince = mapPollEnded.plus(OUT_OF_POLL_GRACE);
        }
        return now.isBefore(brokenSince.plus(OUT_OF_SYNC_VISIBLE_AFTER)) ? null : OUT_OF_SYNC;
    }
}
