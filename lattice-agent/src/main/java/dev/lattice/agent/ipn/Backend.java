package dev.lattice.agent.ipn;

import dev.lattice.agent.state.Prefs;
import java.time.Duration;

/**
 * The agent as the local API serves it (tailscale's {@code ipnlocal.LocalBackend}). Implemented by the daemon;
 * tests of the local API and CLI can implement it with fakes.
 */
public interface Backend {
    /** Applies the preferences and starts (or restarts) the connection; returns at once with the state and, for interactive login, the auth URL. */
    UpResult up(UpRequest request) throws BackendException;

    /**
     * As {@link #up(UpRequest)}, waiting at most {@code wait} for the outcome (an {@code up --timeout} shorter than the
     * backend's own wait).
     */
    default UpResult up(UpRequest request, Duration wait) throws BackendException {
        return up(request);
    }

    /** Disconnects from the tailnet but keeps the node's identity (tailscale down). */
    void down() throws BackendException;

    /** Logs the node out at the control server and forgets its node key. */
    void logout() throws BackendException;

    Status status();

    /** The saved preferences. */
    Prefs prefs();

    /**
     * Changes some preferences while keeping the others (tailscale set, {@code PATCH prefs}): the whole change is
     * checked first, then saved and applied, or refused with nothing changed. Returns the new prefs.
     */
    Prefs editPrefs(MaskedPrefs change) throws BackendException;

    /**
     * Why the routes this node offers (or would offer) may not be forwarded by the kernel, naming the sysctl that is
     * off (tailscale's CheckIPForwarding), or null when forwarding is fine or nothing is offered.
     */
    String checkIpForwarding(java.util.List<String> routes) throws BackendException;

    /** One disco ping to a peer given by tailnet IP or MagicDNS name. */
    PingResult ping(String target, Duration timeout) throws BackendException;

    NetcheckReport netcheck() throws BackendException;

    WhoIsResponse whois(String address) throws BackendException;

    /**
     * A TLS certificate and key for {@code domain}, one of the node's CertDomains (tailscale's {@code GetCertPEM}):
     * from the cache, or from the ACME CA.
     */
    default dev.lattice.agent.cert.CertPair cert(String domain) throws BackendException {
        throw new BackendException(501, "certificates are not supported by this backend");
    }

    /** Asks the control server to publish an ACME challenge TXT record (tailscale's LocalAPI {@code set-dns}). */
    default void setDns(String name, String value) throws BackendException {
        throw new BackendException(501, "set-dns is not supported by this backend");
    }

    /** What the node serves (tailscale's {@code ServeConfig}); empty when nothing. */
    default dev.lattice.agent.serve.ServeConfig serveConfig() throws BackendException {
        throw new BackendException(501, "serve is not supported by this backend");
    }

    /**
     * Replaces the serve config, checked, stored and applied (tailscale's {@code SetServeConfig}).
     *
     * @param etag the ETag of the config this replaces, or "" to replace whatever is there; a mismatch is 412
     */
    default void setServeConfig(dev.lattice.agent.serve.ServeConfig config, String etag) throws BackendException {
        throw new BackendException(501, "serve is not supported by this backend");
    }
}
