package dev.lattice.control.certs;

import dev.lattice.control.machine.HttpError;
import dev.lattice.control.netmap.TailcfgNodes;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.wire.tailcfg.SetDNSRequest;
import java.util.regex.Pattern;

/**
 * {@code POST /machine/set-dns}: a node publishes the TXT value of an ACME DNS-01 challenge, for
 * {@code _acme-challenge.<its own MagicDNS name>} and nothing else (tailscale's {@code feature/acme/cert.go} asks for
 * exactly that name, for the name and for its wildcard alike).
 */
public final class SetDnsRequests {
    static final String PREFIX = "_acme-challenge.";
    /** A DNS-01 value is the base64url SHA-256 of the key authorization (43 characters); some room for other CAs. */
    private static final Pattern VALUE = Pattern.compile("[A-Za-z0-9_-]{1,128}");

    private final Tailnet tailnet;
    private final TailcfgNodes nodes;
    private final AcmeChallenges challenges;
    private final boolean enabled;

    /** @param enabled {@code dns.certificates}: without it every request is refused */
    public SetDnsRequests(Tailnet tailnet, TailcfgNodes nodes, AcmeChallenges challenges, boolean enabled) {
        this.tailnet = tailnet;
        this.nodes = nodes;
        this.challenges = challenges;
        this.enabled = enabled;
    }

    /**
     * Stores the request's record, or throws {@link HttpError} saying why not: 400 for a malformed request, 403 for a
     * name that is not this node's challenge name (or certificates off), 404 for a node that is not this machine's.
     */
    public void setDns(MachinePublicKey machine, SetDNSRequest req) {
        if (!enabled) throw new HttpError(403, "certificates are not enabled on this control server (dns.certificates)");
        if (req.nodeKey() == null) throw new HttpError(400, "set-dns request without a node key");
        TailnetNode node = tailnet.byNodeKey(req.nodeKey()).orElseThrow(() -> new HttpError(404, "node not found"));
        if (!node.machineKey().equals(machine)) {
            throw new HttpError(404, "node key in request does not match the one associated with this machine key");
        }
        if (!"TXT".equals(req.type())) throw new HttpError(400, "only TXT records can be set, not \"" + shown(req.type()) + "\"");
        String own = PREFIX + AcmeChallenges.key(nodes.fqdn(node));
        String name = req.name() == null ? "" : AcmeChallenges.key(req.name());
        if (!name.equals(own)) {
            throw new HttpError(403, "a node may only set " + own + ", not \"" + shown(req.name()) + "\"");
        }
        if (req.value() == null || !VALUE.matcher(req.value()).matches()) {
            throw new HttpError(400, "invalid TXT value: expected an ACME DNS-01 digest (base64url, at most 128 characters)");
        }
        challenges.put(name, node.id(), req.value(), tailnet.now());
    }

    /** Whether node {@code nodeId} still owns challenge name {@code name} (it may have been renamed or deleted). */
    public boolean owns(long nodeId, String name) {
        return tailnet.node(nodeId).map(n -> name.equals(PREFIX + AcmeChallenges.key(nodes.fqdn(n)))).orElse(false);
    }

    /** At most 80 characters of what a client sent, for an error message (never a secret: names and types). */
    private static String shown(String s) {
        if (s == null) return "";
        String t = s.length() > 80 ? s.substring(0, 80) + "…" : s;
        return t.replaceAll("[^\\x20-\\x7e…]", "?");
    }
}
