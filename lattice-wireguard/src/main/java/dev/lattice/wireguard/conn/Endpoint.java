package dev.lattice.wireguard.conn;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * A UDP peer address in the form the dual-stack socket uses on the wire: a 28-byte {@code sockaddr_in6}
 * (IPv4 as {@code ::ffff:a.b.c.d}). Keeping the raw bytes lets the receive path compare a datagram's source
 * with a peer's endpoint without allocating, and the send path pass it to sendto as is.
 */
public final class Endpoint {
    public static final int SOCKADDR_LEN = 28;
    private static final int AF_INET6 = 10;

    private final byte[] sockaddr;
    private final InetSocketAddress address;

    /**
     * The marker endpoint of peers whose path a {@link PathSelector} chooses: {@code [100::]:0}, in the IPv6
     * discard-only prefix (RFC 6666), so it can never be a real peer address.
     */
    private static final Endpoint VIRTUAL = of(new InetSocketAddress(virtualAddress(), 0));

    private Endpoint(byte[] sockaddr, InetSocketAddress address) {
        this.sockaddr = sockaddr;
        this.address = address;
    }

    public static Endpoint of(InetSocketAddress a) {
        if (a.isUnresolved()) throw new IllegalArgumentException("endpoint must be an IP address: " + a);
        byte[] s = new byte[SOCKADDR_LEN];
        s[0] = (byte) AF_INET6; // sa_family is host order (little-endian on Linux x86/arm)
        s[1] = (byte) (AF_INET6 >>> 8);
        s[2] = (byte) (a.getPort() >>> 8);
        s[3] = (byte) a.getPort();
        byte[] ip = a.getAddress().getAddress();
        if (ip.length == 4) {
            s[18] = (byte) 0xff;
            s[19] = (byte) 0xff;
            System.arraycopy(ip, 0, s, 20, 4);
        } else {
            System.arraycopy(ip, 0, s, 8, 16);
            if (a.getAddress() instanceof java.net.Inet6Address v6) {
                int scope = v6.getScopeId();
                s[24] = (byte) scope;
                s[25] = (byte) (scope >>> 8);
                s[26] = (byte) (scope >>> 16);
                s[27] = (byte) (scope >>> 24);
            }
        }
        return new Endpoint(s, a);
    }

    public static Endpoint virtual() {
        return VIRTUAL;
    }

    /** True for {@link #virtual()}: the peer's real path is chosen by a {@link PathSelector}. */
    public boolean isVirtual() {
        return matches(VIRTUAL.sockaddr);
    }

    private static InetAddress virtualAddress() {
        byte[] a = new byte[16];
        a[0] = 0x01;
        try {
            return InetAddress.getByAddress(a);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** Builds an endpoint from a sockaddr_in6 as filled in by recvfrom (copied). */
    public static Endpoint fromSockaddr(byte[] raw) {
        byte[] s = Arrays.copyOf(raw, SOCKADDR_LEN);
        int port = ((s[2] & 0xff) << 8) | (s[3] & 0xff);
        byte[] ip = Arrays.copyOfRange(s, 8, 24);
        try {
            InetAddress addr = isV4Mapped(ip) ? InetAddress.getByAddress(Arrays.copyOfRange(ip, 12, 16))
                    : InetAddress.getByAddress(ip);
            return new Endpoint(s, new InetSocketAddress(addr, port));
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static boolean isV4Mapped(byte[] ip) {
        for (int i = 0; i < 10; i++) if (ip[i] != 0) return false;
        return ip[10] == (byte) 0xff && ip[11] == (byte) 0xff;
    }

    /** True when {@code raw} (a received sockaddr) is this endpoint. */
    public boolean matches(byte[] raw) {
        return Arrays.equals(sockaddr, 0, 24, raw, 0, 24);
    }

    public byte[] sockaddr() {
        return sockaddr;
    }

    public InetSocketAddress address() {
        return address;
    }

    /** UAPI text form: {@code 1.2.3.4:51820} or {@code [::1]:51820}. */
    @Override
    public String toString() {
        InetAddress a = address.getAddress();
        String host = dev.lattice.wire.ip.IpPrefix.format(a);
        return (a instanceof Inet4Address ? host : "[" + host + "]") + ":" + address.getPort();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Endpoint e && Arrays.equals(sockaddr, 0, 24, e.sockaddr, 0, 24);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(Arrays.copyOf(sockaddr, 24));
    }
}
