package dev.lattice.agent.filter;

import dev.lattice.wire.ip.IpPrefix;

/** Builds well-formed IPv4/IPv6 packets for filter and TUN tests (checksums are not filled in). */
public final class TestPackets {
    public static final int ICMP4 = 1, TCP = 6, UDP = 17, ICMP6 = 58, SCTP = 132;
    public static final int SYN = 0x02, ACK = 0x10;

    private TestPackets() {}

    /** A packet of {@code proto} with ports (TCP/UDP/SCTP) and TCP flags; for ICMP, {@code sport} is the type. */
    public static byte[] packet(int proto, String src, String dst, int sport, int dport, int tcpFlags) {
        byte[] s = IpPrefix.parseAddress(src).getAddress();
        byte[] d = IpPrefix.parseAddress(dst).getAddress();
        int sub = switch (proto) {
            case TCP -> 20;
            case SCTP -> 12;
            default -> 8;
        };
        int hdr = s.length == 4 ? 20 : 40;
        byte[] p = new byte[hdr + sub];
        if (s.length == 4) {
            p[0] = 0x45;
            p[2] = (byte) (p.length >>> 8);
            p[3] = (byte) p.length;
            p[8] = 64;
            p[9] = (byte) proto;
            System.arraycopy(s, 0, p, 12, 4);
            System.arraycopy(d, 0, p, 16, 4);
        } else {
            p[0] = 0x60;
            p[4] = (byte) (sub >>> 8);
            p[5] = (byte) sub;
            p[6] = (byte) proto;
            p[7] = 64;
            System.arraycopy(s, 0, p, 8, 16);
            System.arraycopy(d, 0, p, 24, 16);
        }
        if (proto == ICMP4 || proto == ICMP6) {
            p[hdr] = (byte) sport;
        } else {
            p[hdr] = (byte) (sport >>> 8);
            p[hdr + 1] = (byte) sport;
            p[hdr + 2] = (byte) (dport >>> 8);
            p[hdr + 3] = (byte) dport;
        }
        if (proto == TCP) {
            p[hdr + 12] = 0x50;
            p[hdr + 13] = (byte) tcpFlags;
        }
        return p;
    }

    public static byte[] tcpSyn(String src, String dst, int sport, int dport) {
        return packet(TCP, src, dst, sport, dport, SYN);
    }

    public static byte[] udp(String src, String dst, int sport, int dport) {
        return packet(UDP, src, dst, sport, dport, 0);
    }
}
