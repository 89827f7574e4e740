package dev.lattice.control.dns.authoritative;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TextParseException;

/** A stub resolver for tests: one query over UDP or TCP to a given server, the reply parsed (null: no reply, or closed). */
public final class DnsProbe {
    private DnsProbe() {}

    public static Message query(InetSocketAddress server, String name, int type, boolean tcp) throws IOException {
        return exchange(server, Message.newQuery(Record.newRecord(name(name), type, DClass.IN)).toWire(), tcp);
    }

    public static Message exchange(InetSocketAddress server, byte[] query, boolean tcp) throws IOException {
        if (tcp) {
            try (Socket s = new Socket()) {
                s.connect(server, 2000);
                s.setSoTimeout(2000);
                byte[] reply;
                try {
                    OutputStream out = s.getOutputStream();
                    out.write(new byte[] {(byte) (query.length >>> 8), (byte) query.length});
                    out.write(query);
                    out.flush();
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    reply = in.readNBytes(in.readUnsignedShort());
                } catch (IOException e) {
                    return null; // closed on us (refused, or a query it would not answer)
                }
                return new Message(reply);
            }
        }
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(1000);
            s.send(new DatagramPacket(query, query.length, server));
            byte[] buf = new byte[65535];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                s.receive(p);
            } catch (SocketTimeoutException e) {
                return null;
            }
            return new Message(java.util.Arrays.copyOf(buf, p.getLength()));
        }
    }

    public static Name name(String n) {
        try {
            return Name.fromString(n.endsWith(".") ? n : n + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
