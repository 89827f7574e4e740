package dev.lattice.agent.dns;

import dev.lattice.guard.LogLimiter;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The MagicDNS resolver (tailscale's {@code net/dns/resolver}): answers A/AAAA for tailnet names, PTR for tailnet
 * addresses, NXDOMAIN for unknown names under the domains it is authoritative for, and forwards everything else
 * to the upstream of the longest matching split-DNS suffix (UDP, retried over TCP when the answer is truncated;
 * or DoH to an exit node's peer API; each upstream tried in turn with a timeout). {@link #handle} never throws:
 * garbage gets FORMERR (or nothing when there is not even a header), failed forwarding SERVFAIL.
 *
 * <p>{@link #handlePeerQuery} is the other way in: queries a peer sends to our peer API's DoH endpoint while we
 * are its exit node, forwarded to the host's resolvers without any tailnet answers (tailscale's
 * {@code HandlePeerDNSQuery}).
 */
public final class MagicDns implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MagicDns.class);
    /** DoH goes to one server (the exit node's proxy) for every name: its failures are worth a line a minute. */
    private static final LogLimiter DOH_LOG = LogLimiter.perMinute(log);
    static final long TTL = 600; // seconds, as tailscale's MagicDNS answers
    private static final int MAX_MESSAGE = 65_535;
    /** A DoH exchange over the tunnel may need a WireGuard handshake first (tailscale allows 5 s). */
    static final Duration DOH_TIMEOUT = Duration.ofSeconds(5);
    static final String DOH_TYPE = "application/dns-message";

    private record State(MagicDnsConfig config, Map<String, String> reverse) {}

    private final Duration timeout;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private volatile State state = new State(MagicDnsConfig.empty(), Map.of());
    private final Doh doh;

    /** A resolver that waits at most {@code upstreamTimeout} for each upstream exchange. */
    public MagicDns(Duration upstreamTimeout) {
        this.timeout = upstreamTimeout;
        this.doh = new Doh(executor, upstreamTimeout.compareTo(DOH_TIMEOUT) > 0 ? upstreamTimeout : DOH_TIMEOUT);
    }

    public MagicDns() {
        this(Duration.ofSeconds(2));
    }

    public void setConfig(MagicDnsConfig config) {
        state = new State(config, reverseNames(config));
    }

    /**
     * The PTR names of {@code config}'s addresses ({@code 2.0.64.100.in-addr.arpa.}), each to its host's name. Public
     * for latticed's warm-up: the first call loads dnsjava's name tables, 2-13 ms of a first {@code up} otherwise.
     */
    public static Map<String, String> reverseNames(MagicDnsConfig config) {
        Map<String, String> reverse = new HashMap<>();
        config.hosts().forEach((name, addrs) -> {
            for (InetAddress a : addrs) reverse.putIfAbsent(ReverseMap.fromAddress(a).toString().toLowerCase(Locale.ROOT), name);
        });
        return Map.copyOf(reverse);
    }

    public MagicDnsConfig config() {
        return state.config;
    }

    /** The response to one DNS query message; completes with null when nothing should be sent back. */
    public CompletableFuture<byte[]> handle(byte[] query) {
        try {
            return handle0(query);
        } catch (RuntimeException e) {
            // dnsjava may throw unchecked exceptions on odd input; the sender gets an error, we stay up.
            log.debug("MagicDNS query failed: {}", e.toString());
            return CompletableFuture.completedFuture(headerOnly(query, Rcode.SERVFAIL));
        }
    }

    private CompletableFuture<byte[]> handle0(byte[] query) {
        if (query == null || query.length < 12) return CompletableFuture.completedFuture(null);
        if ((query[2] & 0x80) != 0) return CompletableFuture.completedFuture(null); // a response: never answer those
        Message q;
        try {
            q = new Message(query);
        } catch (IOException e) {
            return CompletableFuture.completedFuture(headerOnly(query, Rcode.FORMERR));
        }
        if (q.getHeader().getOpcode() != Opcode.QUERY) return done(reply(q, Rcode.NOTIMP));
        Record question = q.getQuestion();
        if (question == null || q.getSection(Section.QUESTION).size() != 1) return done(reply(q, Rcode.FORMERR));
        String name = question.getName().toString().toLowerCase(Locale.ROOT);
        int type = question.getType();
        State s = state;

        if (type == Type.PTR) {
            String target = s.reverse.get(name);
            if (target != null) {
                Message r = reply(q, Rcode.NOERROR);
                r.getHeader().setFlag(Flags.AA);
                r.addRecord(new PTRRecord(question.getName(), DClass.IN, TTL, name(target)), Section.ANSWER);
                return done(r);
            }
        } else {
            List<InetAddress> addrs = s.config.hosts().get(name);
            if (addrs != null) {
                Message r = reply(q, Rcode.NOERROR);
                r.getHeader().setFlag(Flags.AA);
                for (InetAddress a : addrs) {
                    // Like tailscale: one address of the asked family; the name exists even when there is none.
                    if (type == Type.A && MagicDnsConfig.isV4(a)) {
                        r.addRecord(new ARecord(question.getName(), DClass.IN, TTL, a), Section.ANSWER);
                        break;
                    }
                    if (type == Type.AAAA && !MagicDnsConfig.isV4(a)) {
                        r.addRecord(new AAAARecord(question.getName(), DClass.IN, TTL, a), Section.ANSWER);
                        break;
                    }
                }
                if (type == Type.NS || type == Type.SOA || type == Type.AXFR || type == Type.HINFO) {
                    return done(reply(q, Rcode.NOTIMP));
                }
                if (r.getSection(Section.ANSWER).isEmpty()) addSoa(r, zoneOf(s.config, name));
                return done(r);
            }
        }
        if (name.endsWith(".onion.") || name.equals("onion.")) return done(nxdomain(q, "onion."));
        String zone = zoneOf(s.config, name);
        if (zone != null) return done(nxdomain(q, zone));
        List<Upstream> upstream = route(s.config, name);
        if (upstream.isEmpty()) return done(reply(q, Rcode.SERVFAIL));
        int clientMax = q.getOPT() instanceof OPTRecord opt ? Math.max(512, opt.getPayloadSize()) : 512;
        return forwardAsync(query, q, upstream, clientMax);
    }

    private CompletableFuture<byte[]> forwardAsync(byte[] query, Message q, List<Upstream> upstream, int clientMax) {
        try {
            return CompletableFuture.supplyAsync(() -> forward(query, q, upstream, clientMax), executor);
        } catch (RejectedExecutionException e) {
            return done(reply(q, Rcode.SERVFAIL));
        }
    }

    /**
     * A query a peer sent to our DoH endpoint (we are its exit node), as tailscale's {@code HandlePeerDNSQuery}:
     * nothing is answered from the tailnet; a name {@code allowName} refuses gets REFUSED; everything else goes to
     * {@code hostResolvers} (the host's own, when MagicDNS does not stand in for them) or, when that is empty, to
     * the upstreams our own routes give the name. The whole answer comes back, however large (DoH runs over TCP).
     *
     * @throws MalformedQueryException when {@code query} is not a DNS query with a question (DoH answers 400)
     */
    public CompletableFuture<byte[]> handlePeerQuery(byte[] query, Predicate<String> allowName,
            List<InetSocketAddress> hostResolvers) throws MalformedQueryException {
        Message q = parsePeerQuery(query);
        try {
            Record question = q.getQuestion();
            String name = question.getName().toString().toLowerCase(Locale.ROOT);
            if (!allowName.test(name)) return done(reply(q, Rcode.REFUSED));
            List<Upstream> upstream = hostResolvers.isEmpty() ? route(state.config, name)
                    : hostResolvers.stream().map(Upstream::udp).toList();
            if (upstream.isEmpty()) return done(reply(q, Rcode.SERVFAIL));
            return forwardAsync(query, q, upstream, MAX_MESSAGE);
        } catch (RuntimeException e) {
            log.debug("peer DNS query failed: {}", e.toString());
            return done(reply(q, Rcode.SERVFAIL));
        }
    }

    /** The query, or why it is not one: a DNS message that is not a response and has a question (tailscale's parseQuery). */
    static Message parsePeerQuery(byte[] query) throws MalformedQueryException {
        if (query == null || query.length < 12) throw new MalformedQueryException("shorter than a DNS header");
        if ((query[2] & 0x80) != 0) throw new MalformedQueryException("a response, not a query");
        Message q;
        try {
            q = new Message(query);
        } catch (IOException | RuntimeException e) {
            throw new MalformedQueryException("not a DNS message");
        }
        if (q.getQuestion() == null) throw new MalformedQueryException("no question");
        return q;
    }

    /** A DoH query that is not a DNS query. */
    public static final class MalformedQueryException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedQueryException(String message) {
            super(message);
        }
    }

    /** The longest local (authoritative) domain containing {@code name}, or null. */
    private static String zoneOf(MagicDnsConfig c, String name) {
        String best = null;
        for (String d : c.localDomains()) {
            if (under(name, d) && (best == null || d.length() > best.length())) best = d;
        }
        return best;
    }

    /** The upstreams of the longest route suffix containing {@code name} ("." is the default). */
    static List<Upstream> route(MagicDnsConfig c, String name) {
        String best = null;
        for (String suffix : c.routes().keySet()) {
            if (under(name, suffix) && (best == null || suffix.length() > best.length())) best = suffix;
        }
        return best == null ? List.of() : c.routes().get(best);
    }

    static boolean under(String name, String suffix) {
        return suffix.equals(".") || name.equals(suffix) || name.endsWith("." + suffix);
    }

    private byte[] forward(byte[] query, Message q, List<Upstream> upstreams, int clientMax) {
        int id = q.getHeader().getID();
        for (Upstream u : upstreams) {
            if (u instanceof Upstream.Doh d) {
                try {
                    return Doh.withTruncationFlag(doh.exchange(d.url(), query), clientMax);
                } catch (Doh.ServerFailure e) {
                    DOH_LOG.warn(d.url(), "MagicDNS: DoH server {} answered {}", d, e.getMessage());
                    return reply(q, Rcode.SERVFAIL).toWire(); // a 5xx is the server's SERVFAIL (tailscale)
                } catch (IOException e) {
                    DOH_LOG.warn(d.url(), "MagicDNS: DoH server {} failed: {}", d, e.toString());
                }
                continue;
            }
            InetSocketAddress up = ((Upstream.Udp) u).address();
            try {
                byte[] resp = udpExchange(query, id, up);
                if (resp == null) continue;
                if ((resp[2] & 0x02) != 0) { // TC: the full answer needs TCP
                    try {
                        byte[] full = tcpExchange(query, id, up);
                        if (full != null && full.length <= clientMax) return full;
                    } catch (IOException e) {
                        log.debug("MagicDNS TCP fallback to {} failed: {}", up, e.toString());
                    }
                }
                return resp; // the client sees TC and may retry
            } catch (IOException e) {
                log.debug("MagicDNS upstream {} failed: {}", up, e.toString());
            }
        }
        return reply(q, Rcode.SERVFAIL).toWire();
    }

    private byte[] udpExchange(byte[] query, int id, InetSocketAddress up) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (DatagramSocket sock = new DatagramSocket()) {
            sock.connect(up);
            sock.send(new DatagramPacket(query, query.length));
            byte[] buf = new byte[MAX_MESSAGE];
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) return null;
                sock.setSoTimeout((int) Math.max(1, left));
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    sock.receive(p);
                } catch (SocketTimeoutException e) {
                    return null;
                }
                // Only a response to this query (ID and QR) counts; anything else is ignored.
                if (p.getLength() >= 12 && u16(buf, 0) == id && (buf[2] & 0x80) != 0) {
                    return java.util.Arrays.copyOf(buf, p.getLength());
                }
            }
        }
    }

    private byte[] tcpExchange(byte[] query, int id, InetSocketAddress up) throws IOException {
        int ms = (int) Math.max(1, timeout.toMillis());
        try (Socket sock = new Socket()) {
            sock.connect(up, ms);
            sock.setSoTimeout(ms);
            DataOutputStream out = new DataOutputStream(sock.getOutputStream());
            out.writeShort(query.length);
            out.write(query);
            out.flush();
            DataInputStream in = new DataInputStream(sock.getInputStream());
            int len = in.readUnsignedShort(); // at most 65535: bounded
            byte[] resp = in.readNBytes(len);
            if (resp.length != len || len < 12 || u16(resp, 0) != id) return null;
            return resp;
        }
    }

    private static CompletableFuture<byte[]> done(Message m) {
        return CompletableFuture.completedFuture(m.toWire(MAX_MESSAGE));
    }

    private static Message reply(Message q, int rcode) {
        Message r = new Message(q.getHeader().getID());
        r.getHeader().setFlag(Flags.QR);
        r.getHeader().setOpcode(q.getHeader().getOpcode());
        if (q.getHeader().getFlag(Flags.RD)) r.getHeader().setFlag(Flags.RD);
        r.getHeader().setFlag(Flags.RA);
        r.getHeader().setRcode(rcode);
        Record question = q.getQuestion();
        if (question != null) r.addRecord(question, Section.QUESTION);
        return r;
    }

    private static Message nxdomain(Message q, String zone) {
        Message r = reply(q, Rcode.NXDOMAIN);
        r.getHeader().setFlag(Flags.AA);
        addSoa(r, zone);
        return r;
    }

    /** The SOA of our zone in the authority section of negative answers (RFC 2308), so they can be cached. */
    private static void addSoa(Message r, String zone) {
        if (zone == null) return;
        Name z = name(zone);
        r.addRecord(new SOARecord(z, DClass.IN, TTL, name("ns." + zone), name("hostmaster." + zone),
                1, 3600, 600, 86400, TTL), Section.AUTHORITY);
    }

    private static Name name(String fqdn) {
        try {
            return Name.fromString(fqdn);
        } catch (TextParseException e) {
            throw new IllegalArgumentException("bad name", e);
        }
    }

    /** A header-only response echoing the query's ID and opcode, for queries we cannot parse. */
    private static byte[] headerOnly(byte[] query, int rcode) {
        if (query == null || query.length < 12) return null;
        byte[] r = new byte[12];
        r[0] = query[0];
        r[1] = query[1];
        r[2] = (byte) (0x80 | (query[2] & 0x78) | (query[2] & 0x01)); // QR, opcode, RD
        r[3] = (byte) (0x80 | (rcode & 0x0f)); // RA
        return r;
    }

    private static int u16(byte[] b, int off) {
        return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff);
    }

    @Override
    public void close() {
        executor.shutdownNow();
        doh.close();
    }
}
