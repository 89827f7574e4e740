package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.lattice.wire.ip.IpPrefix;
import java.net.Inet6Address;
import java.net.InetAddress;

/**
 * An IP address and UDP port as Go's {@code netip.AddrPort} writes it: {@code 1.2.3.4:41641},
 * {@code [fd7a::1]:41641}, {@code [fe80::1%eth0]:41641}. The zone is kept as text (null if none) since
 * Java's InetAddress cannot hold a zone that names no local interface.
 */
public record AddrPort(InetAddress address, String zone, int port) {

    public AddrPort {
        if (address == null) throw new IllegalArgumentException("address is null");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port + " out of range");
        if (zone != null && (zone.isEmpty() || !(address instanceof Inet6Address))) {
            throw new IllegalArgumentException("a zone needs an IPv6 address and a name");
        }
    }

    public AddrPort(InetAddress address, int port) {
        this(address, null, port);
    }

    @JsonCreator
    public static AddrPort parse(String text) {
        if (text == null || text.isEmpty()) throw new IllegalArgumentException("empty address:port");
        String host;
        String portText;
        if (text.charAt(0) == '[') {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                throw new IllegalArgumentException("bad address:port \"" + Tailcfg.clip(text) + "\"");
            }
            host = text.substring(1, close);
            portText = text.substring(close + 2);
            if (host.indexOf(':') < 0) throw new IllegalArgumentException("brackets around a non-IPv6 address");
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0) throw new IllegalArgumentException("no port in \"" + Tailcfg.clip(text) + "\"");
            host = text.substring(0, colon);
            portText = text.substring(colon + 1);
            if (host.indexOf(':') >= 0) throw new IllegalArgumentException("IPv6 address:port needs brackets");
        }
        String zone = null;
        int pct = host.indexOf('%');
        if (pct >= 0) {
            zone = host.substring(pct + 1);
            host = host.substring(0, pct);
        }
        if (portText.isEmpty() || portText.length() > 5 || !portText.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("bad port in \"" + Tailcfg.clip(text) + "\"");
        }
        return new AddrPort(IpPrefix.parseAddress(host), zone, Integer.parseInt(portText));
    }

    @JsonValue
    @Override
    public String toString() {
        String a = IpPrefix.format(address);
        if (address instanceof Inet6Address) {
            return "[" + a + (zone == null ? "" : "%" + zone) + "]:" + port;
        }
        return a + ":" + port;
    }
}
