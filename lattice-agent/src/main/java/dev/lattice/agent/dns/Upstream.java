package dev.lattice.agent.dns;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Locale;
import java.util.Objects;

/** Where MagicDNS sends a query it does not answer itself (one entry of tailscale's {@code dnstype.Resolver} list). */
public sealed interface Upstream {

    /** Classic DNS: UDP, retried over TCP when the answer is truncated. */
    record Udp(InetSocketAddress address) implements Upstream {
        public Udp {
            Objects.requireNonNull(address, "address");
        }

        @Override
        public String toString() {
            return address.getAddress().getHostAddress() + ":" + address.getPort();
        }
    }

    /**
     * DNS over HTTP (RFC 8484 POST) to a plain {@code http://} URL: a peer's peer API {@code /dns-query}, reached
     * through the tunnel (tailscale's forwarder sends every {@code http://} resolver through its peer API client).
     */
    record Doh(URI url) implements Upstream {
        public Doh {
            Objects.requireNonNull(url, "url");
            if (url.getScheme() == null || !url.getScheme().toLowerCase(Locale.ROOT).equals("http") || url.getHost() == null) {
                throw new IllegalArgumentException("a DoH upstream must be an http://host[:port]/path URL, got " + url);
            }
        }

        @Override
        public String toString() {
            return url.toString();
        }
    }

    static Upstream udp(InetSocketAddress address) {
        return new Udp(address);
    }
}
