package dev.lattice.agent.peerapi;

import dev.lattice.agent.dns.MagicDns;
import dev.lattice.guard.LogLimiter;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code /dns-query}: a DoH server (RFC 8484, over plain HTTP inside the tunnel) for the peers that use this node
 * as their exit node (tailscale's {@code handleDNSQuery}). GET takes {@code ?dns=} (base64url, unpadded), POST an
 * {@code application/dns-message} body; the answer is the host's resolvers' (see {@link MagicDns#handlePeerQuery}).
 * GET {@code ?q=name&t=a|aaaa|txt} is tailscale's JSON debug mode for humans. Peers the {@link DnsProxyPolicy}
 * refuses get 403, malformed queries 400, a query that takes longer than 5 s 500.
 */
public final class DnsQueryHandler implements PeerApiHandler {
    private static final LogLimiter LOG = LogLimiter.perMinute(LoggerFactory.getLogger(DnsQueryHandler.class));
    static final String DNS_MESSAGE = "application/dns-message";
    /** Tailscale's limit; a DNS message is at most 65535 bytes anyway. */
    static final int MAX_QUERY = 256 << 10;
    static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final MagicDns dns;
    private final DnsProxyPolicy policy;
    private final Supplier<List<InetSocketAddress>> hostResolvers;

    /**
     * @param hostResolvers the host's own nameservers when MagicDNS does not stand in for them (then queries go
     *     there, as tailscale takes the first nameserver of /etc/resolv.conf); empty when our MagicDNS is the
     *     host's resolver, so queries follow its routes
     */
    public DnsQueryHandler(MagicDns dns, DnsProxyPolicy policy, Supplier<List<InetSocketAddress>> hostResolvers) {
        this.dns = dns;
        this.policy = policy;
        this.hostResolvers = hostResolvers;
    }

    @Override
    public CompletionStage<PeerApiResponse> handle(PeerApiRequest req) {
        if (!policy.allows(req.peer(), req.netmap())) {
            LOG.info(req.peer().remote().getAddress(), "peer API: DNS proxy refused to {} (not allowed to use this exit node)",
                    req.peer().displayName());
            return done(PeerApiResponse.error(403, "DNS access denied"));
        }
        boolean pretty = false;
        byte[] query;
        try {
            query = dohQuery(req);
        } catch (BadRequest e) {
            String name = req.method().equals("GET") ? req.param("q") : null;
            if (name == null || name.isEmpty()) return done(PeerApiResponse.error(400, e.getMessage()));
            try {
                query = queryFor(name, req.param("t"));
            } catch (TextParseException | IllegalArgumentException bad) {
                return done(PeerApiResponse.error(400, "invalid name"));
            }
            pretty = true;
        }
        CompletableFuture<byte[]> answer;
        try {
            answer = dns.handlePeerQuery(query, name -> DnsProxyPolicy.allowsName(req.netmap(), name), hostResolvers.get());
        } catch (MagicDns.MalformedQueryException e) {
            return done(PeerApiResponse.error(400, "invalid DNS query: " + e.getMessage()));
        }
        boolean json = pretty;
        return answer.orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).handle((res, err) -> {
            if (err != null || res == null) {
                LOG.info(req.peer().remote().getAddress(), "peer API: DNS proxy for {} failed: {}", req.peer().displayName(),
                        err == null ? "no answer" : err.toString());
                return PeerApiResponse.error(500, "DNS forwarding error");
            }
            if (json) return PeerApiResponse.ok("application/json", prettyReply(res));
            return PeerApiResponse.ok(DNS_MESSAGE, res);
        });
    }

    private static final class BadRequest extends Exception {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message, null, false, false);
        }
    }

    /** The DNS message of a DoH request (tailscale's {@code dohQuery}), or the reason for a 400. */
    static byte[] dohQuery(PeerApiRequest req) throws BadRequest {
        switch (req.method()) {
            case "GET" -> {
                String q64 = req.param("dns");
                if (q64 == null || q64.isEmpty()) {
                    throw new BadRequest("missing ‘dns’ parameter; try '?dns=' (DoH standard) or use '?q=<name>' for JSON debug mode");
                }
                if ((long) q64.length() * 3 / 4 > MAX_QUERY) throw new BadRequest("query too large");
                // base64url without padding (Go's RawURLEncoding): padding is an error there too.
                if (q64.indexOf('=') >= 0) throw new BadRequest("invalid 'dns' base64 encoding");
                try {
                    return Base64.getUrlDecoder().decode(q64);
                } catch (IllegalArgumentException e) {
                    throw new BadRequest("invalid 'dns' base64 encoding");
                }
            }
            case "POST" -> {
                if (!DNS_MESSAGE.equals(req.header("Content-Type"))) throw new BadRequest("unexpected Content-Type");
                if (req.body().length > MAX_QUERY) throw new BadRequest("query too large");
                return req.body();
            }
            default -> throw new BadRequest("bad HTTP method");
        }
    }

    /** A recursive query for {@code name} of type A, AAAA or TXT (tailscale's {@code dnsQueryForName}). */
    static byte[] queryFor(String name, String type) throws TextParseException {
        int t = switch (type == null ? "" : type.toLowerCase(Locale.ROOT)) {
            case "aaaa" -> Type.AAAA;
            case "txt" -> Type.TXT;
            default -> Type.A;
        };
        Name n = Name.fromString(name.endsWith(".") ? name : name + ".");
        Message m = Message.newQuery(Record.newRecord(n, t, DClass.IN));
        m.getHeader().setID(1); // arbitrary, but 0 is rejected by some servers
        m.getHeader().setFlag(Flags.RD);
        return m.toWire();
    }

    /** The JSON debug answer: the addresses (or TXT strings) found, or {"Error": ...}. */
    static byte[] prettyReply(byte[] res) {
        Object out;
        try {
            Message m = new Message(res);
            if (m.getRcode() != Rcode.NOERROR) {
                out = java.util.Map.of("Error", "DNS RCode = " + Rcode.string(m.getRcode()));
            } else {
                List<String> got = new ArrayList<>();
                for (Record r : m.getSection(Section.ANSWER)) {
                    if (r.getDClass() != DClass.IN) continue;
                    switch (r) {
                        case org.xbill.DNS.ARecord a -> got.add(a.getAddress().getHostAddress());
                        case org.xbill.DNS.AAAARecord a -> got.add(InetAddress.getByAddress(a.getAddress().getAddress()).getHostAddress());
                        case TXTRecord t -> got.addAll(t.getStrings());
                        default -> { }
                    }
                }
                out = got;
            }
        } catch (IOException | RuntimeException e) {
            out = java.util.Map.of("Error", "unparsable DNS answer");
        }
        return (JsonMapper.shared().writeValueAsString(out) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private static CompletionStage<PeerApiResponse> done(PeerApiResponse r) {
        return CompletableFuture.completedFuture(r);
    }
}
