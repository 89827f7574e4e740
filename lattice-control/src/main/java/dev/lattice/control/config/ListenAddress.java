package dev.lattice.control.config;

import dev.lattice.wire.ip.IpPrefix;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * A {@code host:port} listen address in Go's syntax: {@code 0.0.0.0:8080}, {@code [::1]:8080}, {@code :8080}
 * (all interfaces), or a named port such as {@code :http}. The host, when present, must be an IP literal or a
 * host name; it is never resolved here.
 */
public record ListenAddress(String host, int port) {
    public ListenAddress {
        if (host == null) host = "";
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port + " out of range 0..65535");
    }

    public static ListenAddress parse(String text) {
        if (text == null) throw new IllegalArgumentException("empty listen address");
        int colon = text.lastIndexOf(':');
        if (colon < 0) throw new IllegalArgumentException("listen address \"" + text + "\" has no :port");
        String host = text.substring(0, colon);
        String portText = text.substring(colon + 1);
        if (host.startsWith("[")) {
            if (!host.endsWith("]")) throw new IllegalArgumentException("bad bracketed host in \"" + text + "\"");
            host = host.substring(1, host.length() - 1);
            if (host.indexOf(':') < 0) throw new IllegalArgumentException("brackets need an IPv6 address in \"" + text + "\"");
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("IPv6 host must be in brackets in \"" + text + "\"");
        }
        if (!host.isEmpty()) checkHost(host, text);
        int port = switch (portText) {
            case "http" -> 80;
            case "https" -> 443;
            default -> {
                if (portText.isEmpty() || portText.length() > 5 || !portText.chars().allMatch(Character::isDigit)) {
                    throw new IllegalArgumentException("bad port in listen address \"" + text + "\"");
                }
                int p = Integer.parseInt(portText);
                if (p > 65535) throw new IllegalArgumentException("port out of range in \"" + text + "\"");
                yield p;
            }
        };
        return new ListenAddress(host, port);
    }

    private static void checkHost(String host, String text) {
        boolean literal = host.chars().allMatch(c -> Character.isDigit(c) || c == '.') || host.indexOf(':') >= 0;
        if (literal) {
            try {
                IpPrefix.parseAddress(host);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bad IP address in listen address \"" + text + "\"");
            }
            return;
        }
        if (host.length() > 253 || !host.matches("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")) {
            throw new IllegalArgumentException("bad host in listen address \"" + text + "\"");
        }
    }

    /** The socket address to bind: the wildcard when the host is empty. Resolves a host name if one was given. */
    public InetSocketAddress toSocketAddress() {
        if (host.isEmpty()) return new InetSocketAddress(port);
        if (host.indexOf(':') >= 0 || host.chars().allMatch(c -> Character.isDigit(c) || c == '.')) {
            InetAddress a = IpPrefix.parseAddress(host);
            return new InetSocketAddress(a, port);
        }
        return new InetSocketAddress(host, port);
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
