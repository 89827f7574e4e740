package dev.lattice.control.dns.authoritative;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

/**
 * The listeners: one port for UDP and TCP (several queries on one TCP connection), garbage dropped and counted
 * without disturbing the next query, a source over its rate dropped and counted.
 */
@Timeout(30)
class AuthoritativeDnsServerTest {
    final Map<Outcome, AtomicLong> counts = new EnumMap<>(Outcome.class);

    {
        for (Outcome o : Outcome.values()) counts.put(o, new AtomicLong());
    }

    AuthoritativeDnsServer start(int qps) throws Exception {
        return AuthoritativeDnsServer.start(new InetSocketAddress("127.0.0.1", 0), AnswererTest.answerer(true), qps,
                o -> counts.get(o).incrementAndGet());
    }

    @Test
    void udpAndTcpOnOnePortGarbageDroppedAndCounted() throws Exception {
        try (AuthoritativeDnsServer s = start(1000)) {
            InetSocketAddress at = s.localAddress();
            Message a = DnsProbe.query(at, "web.ts.example.com", Type.A, false);
            assertThat(a.getSection(org.xbill.DNS.Section.ANSWER)).hasSize(1);
            assertThat(DnsProbe.query(at, "example.org", Type.A, true).getRcode()).isEqualTo(Rcode.REFUSED);

            try (DatagramSocket u = new DatagramSocket()) {
                u.setSoTimeout(300);
                byte[] junk = {0x12, 0x34, (byte) 0xff, 1, 2};
                u.send(new DatagramPacket(junk, junk.length, at));
                assertThat(receives(u)).as("no reply to garbage").isFalse();
            }
            assertThat(DnsProbe.query(at, "ts.example.com", Type.SOA, false).getRcode()).as("still serving").isEqualTo(Rcode.NOERROR);

            // two queries on one TCP connection, answered in order
            try (Socket c = new Socket(at.getAddress(), at.getPort())) {
                c.setSoTimeout(2000);
                OutputStream out = c.getOutputStream();
                DataInputStream in = new DataInputStream(c.getInputStream());
                for (String name : List.of("ts.example.com", "nosuch.ts.example.com")) {
                    byte[] q = Message.newQuery(org.xbill.DNS.Record.newRecord(DnsProbe.name(name), Type.SOA,
                            org.xbill.DNS.DClass.IN)).toWire();
                    out.write(new byte[] {(byte) (q.length >> 8), (byte) q.length});
                    out.write(q);
                    out.flush();
                    Message r = new Message(in.readNBytes(in.readUnsignedShort()));
                    assertThat(r.getQuestion().getName()).isEqualTo(DnsProbe.name(name));
                }
            }
            assertThat(counts.get(Outcome.MALFORMED).get()).isEqualTo(1);
            assertThat(counts.get(Outcome.REFUSED).get()).isEqualTo(1);
            assertThat(counts.get(Outcome.NXDOMAIN).get()).isEqualTo(1);
            assertThat(counts.get(Outcome.ANSWERED).get()).isEqualTo(3);
        }
    }

    @Test
    void oneSourceCannotHoldEveryTcpSlot() throws Exception {
        try (AuthoritativeDnsServer s = start(1000)) {
            InetSocketAddress at = s.localAddress();
            List<Socket> idle = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < AuthoritativeDnsServer.MAX_TCP_PER_SOURCE; i++) idle.add(new Socket(at.getAddress(), at.getPort()));
                Thread.sleep(200);
                // the next connection from this address is closed at once: its query gets no answer
                assertThat(DnsProbe.query(at, "ts.example.com", Type.SOA, true)).isNull();
                assertThat(DnsProbe.query(at, "ts.example.com", Type.SOA, false)).as("UDP still answered").isNotNull();
            } finally {
                for (Socket c : idle) c.close();
            }
            // slots come back when the connections go
            long end = System.nanoTime() + 5_000_000_000L;
            Message m = null;
            while (m == null && System.nanoTime() < end) {
                m = DnsProbe.query(at, "ts.example.com", Type.SOA, true);
                if (m == null) Thread.sleep(50);
            }
            assertThat(m).isNotNull();
        }
    }

    @Test
    void aSourceOverItsRateIsDroppedAndCounted() throws Exception {
        try (AuthoritativeDnsServer s = start(5); DatagramSocket u = new DatagramSocket()) {
            u.setSoTimeout(500);
            byte[] q = Message.newQuery(org.xbill.DNS.Record.newRecord(DnsProbe.name("ts.example.com"), Type.SOA,
                    org.xbill.DNS.DClass.IN)).toWire();
            for (int i = 0; i < 40; i++) u.send(new DatagramPacket(q, q.length, s.localAddress()));
            int replies = 0;
            while (receives(u)) replies++;
            // a burst of 10, plus what refilled while the 40 were sent
            assertThat(replies).isBetween(10, 15);
            assertThat(counts.get(Outcome.RATE_LIMITED).get()).isEqualTo(40 - replies);
        }
    }

    private static boolean receives(DatagramSocket u) throws java.io.IOException {
        try {
            u.receive(new DatagramPacket(new byte[2048], 2048));
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        }
    }
}
