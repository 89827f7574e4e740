package dev.lattice.control.dns.authoritative;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The zone's answers, table-driven: SOA/NS at the apex, node addresses only when asked for, challenge TXT values,
 * NXDOMAIN inside the zone and REFUSED outside it (never recursion); and whatever bytes arrive, the answerer
 * returns a reply or nothing, never an exception.
 */
class AnswererTest {
    static final ZoneData DATA = new ZoneData() {
        final Map<String, List<InetAddress>> nodes = Map.of(
                "web", List.of(InetAddress.ofLiteral("100.64.0.1"), InetAddress.ofLiteral("fd7a:115c:a1e0::1")),
                "db", List.of(InetAddress.ofLiteral("100.64.0.2")));

        @Override
        public Optional<List<InetAddress>> node(String label) {
            return Optional.ofNullable(nodes.get(label));
        }

        @Override
        public List<String> challenges(String name) {
            return name.equals("_acme-challenge.web.ts.example.com") ? List.of("abc", "def") : List.of();
        }
    };

    static Answerer answerer(boolean nodeRecords) {
        return new Answerer("ts.example.com", List.of("ns1.example.com", "ns2.example.com"), "hostmaster.example.com",
                nodeRecords, 42, DATA);
    }

    static Message ask(Answerer a, String name, int type, int dclass, boolean tcp) throws IOException {
        Message q = Message.newQuery(Record.newRecord(DnsProbe.name(name), type, dclass));
        Answerer.Result r = a.answer(q.toWire(), tcp);
        assertThat(r.reply()).as("a reply").isNotNull();
        Message m = new Message(r.reply());
        assertThat(m.getHeader().getID()).isEqualTo(q.getHeader().getID());
        assertThat(m.getHeader().getFlag(Flags.QR)).isTrue();
        assertThat(m.getHeader().getFlag(Flags.RA)).as("never a recursive resolver").isFalse();
        return m;
    }

    @ParameterizedTest(name = "{0} {1} (node records {2}) -> {3} {4}")
    @CsvSource(delimiter = '|', value = {
            // the apex
            "ts.example.com            | SOA  | false | NOERROR  | ns1.example.com. hostmaster.example.com. 42 3600 600 86400 0",
            "ts.example.com            | NS   | false | NOERROR  | ns1.example.com.;ns2.example.com.",
            "TS.Example.COM            | NS   | false | NOERROR  | ns1.example.com.;ns2.example.com.",
            "ts.example.com            | A    | false | NOERROR  | ''",
            // outside the zone: refused, whatever the name
            "example.com               | A    | true  | REFUSED  | ''",
            "google.com                | A    | true  | REFUSED  | ''",
            "com                       | NS   | true  | REFUSED  | ''",
            ".                         | NS   | true  | REFUSED  | ''",
            "xts.example.com           | A    | true  | REFUSED  | ''",
            // node names: addresses only with node_records
            "web.ts.example.com        | A    | true  | NOERROR  | 100.64.0.1",
            "WEB.ts.example.com        | AAAA | true  | NOERROR  | fd7a:115c:a1e0:0:0:0:0:1",
            "db.ts.example.com         | AAAA | true  | NOERROR  | ''",
            "db.ts.example.com         | A    | false | NXDOMAIN | ''",
            "web.ts.example.com        | A    | false | NOERROR  | ''",
            "nosuch.ts.example.com     | A    | true  | NXDOMAIN | ''",
            "a.web.ts.example.com      | A    | true  | NXDOMAIN | ''",
            // challenges
            "_acme-challenge.web.ts.example.com | TXT | false | NOERROR  | abc;def",
            "_ACME-challenge.Web.ts.example.com | TXT | false | NOERROR  | abc;def",
            "_acme-challenge.web.ts.example.com | A   | false | NOERROR  | ''",
            "_acme-challenge.db.ts.example.com  | TXT | true  | NXDOMAIN | ''",
            "_acme-challenge.ts.example.com     | TXT | true  | NXDOMAIN | ''",
            // no zone transfers
            "ts.example.com            | AXFR | true  | REFUSED  | ''"})
    void answers(String name, String type, boolean nodeRecords, String rcode, String rdata) throws IOException {
        for (boolean tcp : new boolean[] {false, true}) {
            Message m = ask(answerer(nodeRecords), name, Type.value(type), DClass.IN, tcp);
            assertThat(Rcode.string(m.getRcode())).isEqualTo(rcode);
            List<String> answers = m.getSection(Section.ANSWER).stream()
                    // case-insensitive names (compression may reuse the question's case); TXT strings unquoted
                    .map(r -> r.rdataToString().toLowerCase(java.util.Locale.ROOT).replace("\"", "")).toList();
            assertThat(answers).isEqualTo(rdata.isEmpty() ? List.of() : List.of(rdata.split(";")));
            boolean inZone = !rcode.equals("REFUSED");
            assertThat(m.getHeader().getFlag(Flags.AA)).as("authoritative inside the zone only").isEqualTo(inZone);
            if (inZone && answers.isEmpty()) {
                assertThat(m.getSection(Section.AUTHORITY)).as("negative answers carry the SOA (RFC 2308)")
                        .singleElement().satisfies(r -> assertThat(r.getType()).isEqualTo(Type.SOA));
            }
        }
    }

    @Test
    void otherClassesAreRefused() throws IOException {
        assertThat(ask(answerer(true), "web.ts.example.com", Type.A, DClass.CH, false).getRcode()).isEqualTo(Rcode.REFUSED);
    }

    @Test
    void recursionDesiredIsEchoedButNeverAvailableAndEdnsIsAnswered() throws IOException {
        Message q = Message.newQuery(Record.newRecord(DnsProbe.name("web.ts.example.com"), Type.A, DClass.IN));
        assertThat(q.getHeader().getFlag(Flags.RD)).isTrue();
        q.addRecord(new OPTRecord(4096, 0, 0), Section.ADDITIONAL);
        Message m = new Message(answerer(true).answer(q.toWire(), false).reply());
        assertThat(m.getHeader().getFlag(Flags.RD)).isTrue();
        assertThat(m.getHeader().getFlag(Flags.RA)).isFalse();
        assertThat(m.getOPT()).isNotNull();
        assertThat(m.getOPT().getPayloadSize()).isEqualTo(Answerer.MAX_UDP);
    }

    @Test
    void aReplyTooLargeForUdpIsTruncatedAndWholeOverTcp() throws IOException {
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 60; i++) many.add("v".repeat(43) + i);
        ZoneData big = new ZoneData() {
            @Override
            public Optional<List<InetAddress>> node(String label) {
                return Optional.empty();
            }

            @Override
            public List<String> challenges(String name) {
                return many;
            }
        };
        Answerer a = new Answerer("ts.example.com", List.of("ns1.example.com"), "h.example.com", false, 1, big);
        byte[] q = Message.newQuery(Record.newRecord(DnsProbe.name("_acme-challenge.x.ts.example.com"), Type.TXT, DClass.IN)).toWire();
        byte[] udp = a.answer(q, false).reply();
        assertThat(udp.length).isLessThanOrEqualTo(512);
        assertThat(new Message(udp).getHeader().getFlag(Flags.TC)).isTrue();
        Message tcp = new Message(a.answer(q, true).reply());
        assertThat(tcp.getHeader().getFlag(Flags.TC)).isFalse();
        assertThat(tcp.getSection(Section.ANSWER)).hasSize(60);
    }

    @Test
    void badQueriesGetFormerrOrNotimpAndResponsesAndGarbageNothing() throws IOException {
        Answerer a = answerer(true);
        Message noQuestion = new Message();
        Answerer.Result r = a.answer(noQuestion.toWire(), false);
        assertThat(r.outcome()).isEqualTo(Outcome.ERROR);
        assertThat(new Message(r.reply()).getRcode()).isEqualTo(Rcode.FORMERR);

        Message update = Message.newQuery(Record.newRecord(DnsProbe.name("ts.example.com"), Type.SOA, DClass.IN));
        update.getHeader().setOpcode(Opcode.UPDATE);
        r = a.answer(update.toWire(), false);
        assertThat(r.outcome()).isEqualTo(Outcome.ERROR);
        assertThat(new Message(r.reply()).getRcode()).isEqualTo(Rcode.NOTIMP);

        Message response = Message.newQuery(Record.newRecord(DnsProbe.name("ts.example.com"), Type.SOA, DClass.IN));
        response.getHeader().setFlag(Flags.QR);
        assertThat(a.answer(response.toWire(), false)).isEqualTo(new Answerer.Result(null, Outcome.MALFORMED));
        assertThat(a.answer(new byte[0], false)).isEqualTo(new Answerer.Result(null, Outcome.MALFORMED));
        assertThat(a.answer(new byte[] {1, 2, 3}, true)).isEqualTo(new Answerer.Result(null, Outcome.MALFORMED));
    }

    /** Random bytes and mutated real queries: never an exception, and any reply is a well-formed one for that ID. */
    @Test
    void noBytesEverThrowOutOfTheAnswerer() throws IOException {
        Random rnd = new Random(16);
        Answerer[] answerers = {answerer(true), answerer(false)};
        byte[][] seeds = {
                Message.newQuery(Record.newRecord(DnsProbe.name("_acme-challenge.web.ts.example.com"), Type.TXT, DClass.IN)).toWire(),
                Message.newQuery(Record.newRecord(DnsProbe.name("web.ts.example.com"), Type.A, DClass.IN)).toWire(),
                Message.newQuery(Record.newRecord(DnsProbe.name("ts.example.com"), Type.ANY, DClass.ANY)).toWire()};
        int replies = 0;
        for (int i = 0; i < 30_000; i++) {
            byte[] in;
            if (i % 2 == 0) {
                in = new byte[rnd.nextInt(600)];
                rnd.nextBytes(in);
                if (in.length > 2 && rnd.nextBoolean()) in[2] &= 0x7f; // often a query, not a response
            } else {
                byte[] seed = seeds[rnd.nextInt(seeds.length)];
                in = Arrays.copyOf(seed, Math.max(0, seed.length + rnd.nextInt(9) - 4));
                for (int flips = 1 + rnd.nextInt(4); flips > 0 && in.length > 0; flips--) {
                    in[rnd.nextInt(in.length)] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            boolean tcp = rnd.nextBoolean();
            Answerer.Result r = answerers[i & 1].answer(in, tcp);
            assertThat(r).isNotNull();
            if (r.reply() == null) {
                assertThat(r.outcome()).isEqualTo(Outcome.MALFORMED);
                continue;
            }
            replies++;
            Message m = new Message(r.reply());
            assertThat(m.getHeader().getID()).isEqualTo(((in[0] & 0xff) << 8) | (in[1] & 0xff));
            assertThat(m.getHeader().getFlag(Flags.QR)).isTrue();
            assertThat(r.reply().length).isLessThanOrEqualTo(tcp ? 65535 : Answerer.MAX_UDP);
        }
        assertThat(replies).as("the mutations reach the answering code, not only the parser").isGreaterThan(1000);
    }
}
