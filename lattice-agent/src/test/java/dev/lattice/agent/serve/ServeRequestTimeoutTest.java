package dev.lattice.agent.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.cert.CertPair;
import dev.lattice.agent.peerapi.Peer;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.Node;
import dev.lattice.wire.tailcfg.UserProfile;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A peer that trickles its request (slowloris) loses the connection once the request time is up, while a request
 * sent at once is answered. The JDK's HTTP server takes its limits from system properties read once per JVM, so
 * the server runs in a JVM of its own (a test that made an HttpServer earlier would otherwise fix them), started
 * with a 2 s limit.
 */
@Timeout(60)
class ServeRequestTimeoutTest {
    static final String NAME = "node.tail.example";

    @Test
    void aTricklingPeerIsCutOffButAPromptOneIsAnswered() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                "-Dlattice.serve.request_timeout_seconds=2", Server.class.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            int port = Integer.parseInt(out.readLine().strip());
            InetAddress lo = InetAddress.getLoopbackAddress();

            try (Socket s = new Socket(lo, port)) {
                s.setSoTimeout(5_000);
                s.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + NAME + "\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                String r = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(r).startsWith("HTTP/1.1 200").endsWith("hello\n");
            }

            // one header line every 300 ms: never a whole request, never idle
            try (Socket s = new Socket(lo, port)) {
                s.setSoTimeout(300);
                OutputStream o = s.getOutputStream();
                InputStream in = s.getInputStream();
                o.write(("GET / HTTP/1.1\r\nHost: " + NAME + "\r\n").getBytes(StandardCharsets.US_ASCII));
                long start = System.nanoTime();
                boolean cut = false;
                for (int i = 0; i < 40 && !cut; i++) { // 12 s at most
                    try {
                        o.write(("X-Slow-" + i + ": x\r\n").getBytes(StandardCharsets.US_ASCII));
                        o.flush();
                        cut = in.read() == -1;
                    } catch (SocketTimeoutException e) {
                        // still open
                    } catch (SocketException e) {
                        cut = true; // reset
                    }
                }
                double secs = (System.nanoTime() - start) / 1e9;
                System.out.printf("[serve] a trickling request cut after %.1f s (limit 2 s)%n", secs);
                assertThat(cut).as("the trickling connection is still open after %.1f s", secs).isTrue();
                assertThat(secs).as("cut after the 2 s limit, not before").isGreaterThan(1.5);
            }
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Serves a text page on a free loopback port, prints the port and waits to be killed. */
    public static final class Server {
        public static void main(String[] args) throws Exception {
            int port;
            try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = ss.getLocalPort();
            }
            ServeListeners serve = new ServeListeners(new ServeListeners.Env() {
                @Override
                public Peer whois(InetSocketAddress remote) {
                    Node node = Node.builder().id(2L).user(7L).name("laptop.tail.example.")
                            .addresses(List.of(IpPrefix.parse("100.64.0.2/32"))).build();
                    return new Peer(node, new UserProfile(7L, "alice@example.com", "Alice", null, null), remote, false);
                }

                @Override
                public String certDomain() {
                    return NAME;
                }

                @Override
                public CertPair cert(String domain) throws IOException {
                    throw new IOException("no certificates here");
                }
            });
            String json = "{\"TCP\":{\"" + port + "\":{\"HTTP\":true}},\"Web\":{\"" + NAME + ":" + port
                    + "\":{\"Handlers\":{\"/\":{\"Text\":\"hello\\n\"}}}}}";
            ServeConfig c = ServeConfig.parse(json.getBytes(StandardCharsets.UTF_8));
            ServeValidation.validate(c);
            serve.apply(c, List.of(InetAddress.getLoopbackAddress()));
            System.out.println(port);
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
