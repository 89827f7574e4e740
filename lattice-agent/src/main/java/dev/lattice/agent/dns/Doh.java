package dev.lattice.agent.dns;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.concurrent.Executor;

/**
 * The DoH client of MagicDNS's forwarder (tailscale's {@code sendDoH} with the peer API HTTP client): RFC 8484 POSTs
 * over HTTP/1.1 with kept-alive connections. The URLs are peers' tailnet addresses, so the host's routes take the
 * connection through the tunnel.
 */
final class Doh implements AutoCloseable {
    private final Executor executor;
    private final Duration timeout;
    /** Made on the first query: an HttpClient sets up the JDK's TLS stack (~300 classes), which most nodes never need. */
    private HttpClient http;
    private boolean closed;

    /** An HTTP status of 5xx: the server's way of saying SERVFAIL. */
    static final class ServerFailure extends IOException {
        private static final long serialVersionUID = 1L;

        ServerFailure(String message) {
            super(message);
        }
    }

    Doh(Executor executor, Duration timeout) {
        this.executor = executor;
        this.timeout = timeout;
    }

    /** Whether the HTTP client exists yet (tests). */
    synchronized boolean started() {
        return http != null;
    }

    private synchronized HttpClient http() throws IOException {
        if (closed) throw new IOException("DoH client closed");
        if (http == null) {
            // HTTP/1.1 only: plain http with HTTP/2 would try an h2c upgrade, which peer APIs need not speak.
            http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).proxy(HttpClient.Builder.NO_PROXY)
                    .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(timeout).executor(executor).build();
        }
        return http;
    }

    /** The response to {@code query} from the DoH server at {@code url}. */
    byte[] exchange(URI url, byte[] query) throws IOException {
        try {
            return exchangeOnce(url, query);
        } catch (HttpTimeoutException | ConnectException | ServerFailure e) {
            throw e;
        } catch (IOException e) {
            // A kept-alive connection the server closed as we reused it: DNS queries are safe to send again.
            return exchangeOnce(url, query);
        }
    }

    private byte[] exchangeOnce(URI url, byte[] query) throws IOException {
        HttpRequest req = HttpRequest.newBuilder(url).timeout(timeout)
                .header("Content-Type", MagicDns.DOH_TYPE).header("Accept", MagicDns.DOH_TYPE)
                .POST(HttpRequest.BodyPublishers.ofByteArray(query)).build();
        HttpResponse<InputStream> res;
        try {
            res = http().send(req, HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpConnectTimeoutException e) {
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        try (InputStream body = res.body()) {
            int status = res.statusCode();
            if (status / 100 == 5) throw new ServerFailure("HTTP " + status);
            if (status != 200) throw new IOException("HTTP " + status);
            String ct = res.headers().firstValue("Content-Type").orElse("");
            if (!ct.equals(MagicDns.DOH_TYPE)) throw new IOException("unexpected response Content-Type " + printable(ct));
            byte[] msg = body.readNBytes(65_536);
            if (msg.length > 65_535) throw new IOException("response larger than a DNS message");
            if (msg.length < 12) throw new IOException("response shorter than a DNS header");
            return msg;
        }
    }

    /**
     * As tailscale's {@code checkResponseSizeAndSetTC}: an answer larger than the UDP client can take gets the TC
     * flag (the message itself is left whole).
     */
    static byte[] withTruncationFlag(byte[] response, int clientMax) {
        if (response.length > clientMax && response.length >= 12) response[2] |= 0x02;
        return response;
    }

    private static String printable(String s) {
        String t = s.replaceAll("\\p{Cntrl}", "?");
        return '"' + (t.length() > 60 ? t.substring(0, 60) + "…" : t) + '"';
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (http != null) http.shutdownNow();
    }
}
