package dev.lattice.agent.peerapi;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** A UDP DNS server on loopback playing the host's resolver: every A query gets {@code ip}. */
final class LoopbackDns implements AutoCloseable {
    final DatagramSocket socket;
    final AtomicInteger queries = new AtomicInteger();

    LoopbackDns(String ip) throws Exception {
        socket = new DatagramSocket(0, InetAddress.getLoopbackAddress());
        InetAddress answer = InetAddress.getByName(ip);
        Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[4096];
            while (!socket.isClosed()) {
                try {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    socket.receive(p);
                    queries.incrementAndGet();
                    Message q = new Message(Arrays.copyOf(buf, p.getLength()));
                    Message r = new Message(q.getHeader().getID());
                    r.getHeader().setFlag(Flags.QR);
                    if (q.getQuestion() != null) {
                        r.addRecord(q.getQuestion(), Section.QUESTION);
                        if (q.getQuestion().getType() == Type.A) {
                            r.addRecord(new ARecord(q.getQuestion().getName(), DClass.IN, 60, answer), Section.ANSWER);
                        }
                    }
                    byte[] w = r.toWire();
                    socket.send(new DatagramPacket(w, w.length, p.getSocketAddress()));
                } catch (Exception e) {
                    // garbage from a fuzz case, or closed: next
                }
            }
        });
    }

    InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), socket.getLocalPort());
    }

    @Override
    public void close() {
        socket.close();
    }
}
