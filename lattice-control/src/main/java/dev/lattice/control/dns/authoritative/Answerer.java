package dev.lattice.control.dns.authoritative;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Turns one query's bytes into the reply's bytes for the zone, authoritatively and never recursively: names
 * outside the zone are REFUSED, unknown names inside it NXDOMAIN with the SOA (RFC 2308). Pure and thread-safe;
 * whatever the bytes, it returns (a reply, or none to drop) and never throws.
 */
public final class Answerer {
    /** The largest UDP reply (the DNS flag day's 1232), unless the query's EDNS asks for less. */
    static final int MAX_UDP = 1232;
    /** Apex records change only with the config. */
    static final long APEX_TTL = 300;
    static final long ADDRESS_TTL = 60;
    /** Challenge values come and go within minutes: never cached. */
    static final long TXT_TTL = 0;
    /** The SOA minimum, the negative-caching TTL: zero, so a challenge set after a miss is seen at once. */
    static final long NEGATIVE_TTL = 0;
    static final String CHALLENGE_LABEL = "_acme-challenge";

    /** A reply ({@code null} to send nothing) and how the query ended. */
    public record Result(byte[] reply, Outcome outcome) {}

    private final Name origin;
    private final SOARecord soa;
    private final List<NSRecord> ns;
    private final boolean nodeRecords;
    private final ZoneData data;

    /**
     * @param zone the zone's name, e.g. {@code ts.example.com}
     * @param nameServers the names the parent delegates the zone to (NS records)
     * @param hostmaster the SOA mailbox as a name ({@code hostmaster.example.com})
     * @param nodeRecords whether node names answer A/AAAA with their tailnet addresses
     * @param serial the SOA serial
     */
    public Answerer(String zone, List<String> nameServers, String hostmaster, boolean nodeRecords, long serial, ZoneData data) {
        try {
            this.origin = Name.fromString(zone, Name.root);
            Name primary = Name.fromString(nameServers.getFirst(), Name.root);
            this.soa = new SOARecord(origin, DClass.IN, APEX_TTL, primary, Name.fromString(hostmaster, Name.root), serial,
                    3600, 600, 86400, NEGATIVE_TTL);
            this.ns = nameServers.stream().map(n -> new NSRecord(origin, DClass.IN, APEX_TTL, absolute(n))).toList();
        } catch (TextParseException e) {
            throw new IllegalArgumentException("not a DNS name: " + e.getMessage(), e);
        }
        this.nodeRecords = nodeRecords;
        this.data = data;
    }

    private static Name absolute(String n) {
        try {
            return Name.fromString(n, Name.root);
        } catch (TextParseException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /**
     * The reply to {@code query}.
     *
     * @param tcp whether it came over TCP (no size limit short of 65535; over UDP a reply that does not fit is
     *     truncated with TC set, so the client retries over TCP)
     */
    public Result answer(byte[] query, boolean tcp) {
        Message q;
        try {
            q = new Message(query);
        } catch (IOException | RuntimeException e) {
            return new Result(null, Outcome.MALFORMED);
        }
        try {
            return answer(q, tcp);
        } catch (RuntimeException e) {
            // dnsjava accepted the bytes but something in them breaks building the reply: still not a query we serve.
            return new Result(null, Outcome.MALFORMED);
        }
    }

    private Result answer(Message q, boolean tcp) {
        Header qh = q.getHeader();
        // A response sent to us (or a reflection attempt): never answer one, or two servers could ping-pong forever.
        if (qh.getFlag(Flags.QR)) return new Result(null, Outcome.MALFORMED);
        Message r = new Message(qh.getID());
        Header h = r.getHeader();
        h.setFlag(Flags.QR);
        h.setOpcode(qh.getOpcode());
        if (qh.getFlag(Flags.RD)) h.setFlag(Flags.RD);
        OPTRecord qopt = q.getOPT();
        int max = tcp ? Message.MAXLENGTH : qopt == null ? 512 : Math.clamp(qopt.getPayloadSize(), 512, MAX_UDP);
        if (qopt != null) r.addRecord(new OPTRecord(MAX_UDP, 0, 0), Section.ADDITIONAL);
        if (qh.getOpcode() != Opcode.QUERY) return reply(r, Rcode.NOTIMP, Outcome.ERROR, max);
        if (qh.getCount(Section.QUESTION) != 1) return reply(r, Rcode.FORMERR, Outcome.ERROR, max);
        Record question = q.getQuestion();
        r.addRecord(question, Section.QUESTION);
        Name qname = question.getName();
        int qtype = question.getType();
        int qclass = question.getDClass();
        if ((qclass != DClass.IN && qclass != DClass.ANY) || !qname.subdomain(origin)) {
            return reply(r, Rcode.REFUSED, Outcome.REFUSED, max);
        }
        if (qtype == Type.AXFR || qtype == Type.IXFR) return reply(r, Rcode.REFUSED, Outcome.REFUSED, max);
        h.setFlag(Flags.AA);
        int depth = qname.labels() - origin.labels();
        if (depth == 0) {
            if (qtype == Type.SOA || qtype == Type.ANY) r.addRecord(soa, Section.ANSWER);
            if (qtype == Type.NS || qtype == Type.ANY) ns.forEach(n -> r.addRecord(n, Section.ANSWER));
            return answered(r, max);
        }
        String first = label(qname, 0);
        if (depth == 1) {
            // A Funnel name is public: the internet reaches it at the ingress, whatever node_records says.
            List<InetAddress> published = data.funnel(first);
            Optional<List<InetAddress>> node = published.isEmpty() ? data.node(first) : Optional.of(published);
            if (node.isPresent() && (nodeRecords || !published.isEmpty())) {
                for (InetAddress a : node.get()) {
                    if (a instanceof Inet4Address v4 && (qtype == Type.A || qtype == Type.ANY)) {
                        r.addRecord(new ARecord(qname, DClass.IN, ADDRESS_TTL, v4), Section.ANSWER);
                    } else if (a instanceof Inet6Address v6 && (qtype == Type.AAAA || qtype == Type.ANY)) {
                        r.addRecord(new AAAARecord(qname, DClass.IN, ADDRESS_TTL, v6), Section.ANSWER);
                    }
                }
                return answered(r, max);
            }
            // Without address records a node's name exists only as the parent of a live challenge (an empty
            // non-terminal, RFC 8020): otherwise it is NXDOMAIN, and node names cannot be listed by asking.
            if (node.isPresent() && !data.challenges(CHALLENGE_LABEL + "." + first + "." + zone()).isEmpty()) {
                return answered(r, max);
            }
            return nxdomain(r, max);
        }
        if (depth == 2 && first.equals(CHALLENGE_LABEL)) {
            List<String> values = data.challenges(CHALLENGE_LABEL + "." + label(qname, 1) + "." + zone());
            if (values.isEmpty()) return nxdomain(r, max);
            if (qtype == Type.TXT || qtype == Type.ANY) {
                for (String v : values) r.addRecord(new TXTRecord(qname, DClass.IN, TXT_TTL, v), Section.ANSWER);
            }
            return answered(r, max);
        }
        return nxdomain(r, max);
    }

    private String zone() {
        String s = origin.toString(true);
        return s.toLowerCase(Locale.ROOT);
    }

    private static String label(Name n, int i) {
        return n.getLabelString(i).toLowerCase(Locale.ROOT);
    }

    /** NOERROR; with no answer it is NODATA and carries the SOA for negative caching. */
    private Result answered(Message r, int max) {
        if (r.getSection(Section.ANSWER).isEmpty()) r.addRecord(soa, Section.AUTHORITY);
        return reply(r, Rcode.NOERROR, Outcome.ANSWERED, max);
    }

    private Result nxdomain(Message r, int max) {
        r.addRecord(soa, Section.AUTHORITY);
        return reply(r, Rcode.NXDOMAIN, Outcome.NXDOMAIN, max);
    }

    private static Result reply(Message r, int rcode, Outcome outcome, int max) {
        r.getHeader().setRcode(rcode);
        return new Result(r.toWire(max), outcome);
    }
}
