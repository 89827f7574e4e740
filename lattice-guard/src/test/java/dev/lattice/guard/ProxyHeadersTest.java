package dev.lattice.guard;

import static dev.lattice.guard.GuardedChannel.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Who the client is behind a trusted proxy ({@link ProxyHeaders}), as Headscale's {@code realip.go} decides. */
class ProxyHeadersTest {
    static final Predicate<InetAddress> TRUSTED = a -> a.equals(ip("10.0.0.1")) || a.equals(ip("10.0.0.2")) || a.equals(ip("fd00::1"));

    static HttpHeaders headers(String... nameValue) {
        HttpHeaders h = DefaultHttpHeadersFactory.headersFactory().withValidation(false).newHeaders();
        for (int i = 0; i < nameValue.length; i += 2) h.add(nameValue[i], nameValue[i + 1]);
        return h;
    }

    static Stream<Arguments> clients() {
        return Stream.of(
                Arguments.of("True-Client-IP wins", headers("True-Client-IP", "198.51.100.1", "X-Real-IP", "198.51.100.2",
                        "X-Forwarded-For", "198.51.100.3"), "198.51.100.1"),
                Arguments.of("then X-Real-IP", headers("X-Real-IP", "198.51.100.2", "X-Forwarded-For", "198.51.100.3"), "198.51.100.2"),
                Arguments.of("a malformed True-Client-IP is passed over", headers("True-Client-IP", "nonsense",
                        "X-Real-IP", "198.51.100.2"), "198.51.100.2"),
                Arguments.of("X-Real-IP with spaces", headers("X-Real-IP", "  198.51.100.2 "), "198.51.100.2"),
                Arguments.of("the client before our proxy", headers("X-Forwarded-For", "198.51.100.3, 10.0.0.1"), "198.51.100.3"),
                Arguments.of("a prepended value cannot win", headers("X-Forwarded-For", "203.0.113.9, 198.51.100.3"), "198.51.100.3"),
                Arguments.of("several header lines are one list", headers("X-Forwarded-For", "203.0.113.9",
                        "X-Forwarded-For", "198.51.100.3, 10.0.0.2"), "198.51.100.3"),
                Arguments.of("only trusted proxies: no client", headers("X-Forwarded-For", "10.0.0.1,10.0.0.2"), null),
                Arguments.of("a malformed hop: nothing left of it is believed", headers("X-Forwarded-For",
                        "198.51.100.3, bogus, 10.0.0.1"), null),
                Arguments.of("an empty hop is malformed", headers("X-Forwarded-For", "198.51.100.3, , 10.0.0.1"), null),
                Arguments.of("IPv4 with a port", headers("X-Forwarded-For", "198.51.100.3:5678"), "198.51.100.3"),
                Arguments.of("IPv6", headers("X-Forwarded-For", "2001:db8::1, fd00::1"), "2001:db8::1"),
                Arguments.of("IPv6 in brackets with a port", headers("X-Forwarded-For", "[2001:db8::1]:443"), "2001:db8::1"),
                Arguments.of("IPv4-mapped IPv6 is IPv4", headers("X-Real-IP", "::ffff:198.51.100.2"), "198.51.100.2"),
                Arguments.of("a host name is not an address", headers("X-Forwarded-For", "example.com"), null),
                Arguments.of("no headers", headers(), null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("clients")
    void theClientTheHeadersName(String what, HttpHeaders h, String expected) {
        assertThat(ProxyHeaders.clientOf(h, TRUSTED)).isEqualTo(expected == null ? null : ip(expected));
    }

    @Nested
    class OnAConnection {
        final ConnectionGuard guard = new ConnectionGuard(Limits.builder().trustedProxy(TRUSTED).maxAnonymousPerSource(1).build());

        EmbeddedChannel channelFrom(String peer) {
            GuardedChannel ch = GuardedChannel.admitted(guard, peer);
            ch.pipeline().addLast(new ProxyHeaders(TRUSTED));
            return ch;
        }

        FullHttpRequest request(String... nameValue) {
            FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/machine/register",
                    Unpooled.copiedBuffer(new byte[10]));
            for (int i = 0; i < nameValue.length; i += 2) r.headers().add(nameValue[i], nameValue[i + 1]);
            return r;
        }

        @Test
        void fromAStrangerTheHeadersAreRemoved() {
            EmbeddedChannel ch = channelFrom("192.0.2.1");
            ch.writeInbound(request("X-Forwarded-For", "198.51.100.3", "X-Real-IP", "198.51.100.3",
                    "True-Client-IP", "198.51.100.3", "X-Other", "kept"));

            FullHttpRequest got = ch.readInbound();
            try {
                assertThat(got.headers().names()).doesNotContainAnyElementsOf(ProxyHeaders.HEADERS).contains("X-Other");
                assertThat(ConnectionGuard.of(ch).source()).isEqualTo(ip("192.0.2.1"));
                assertThat(guard.anonymousFrom(ip("198.51.100.3"))).isZero();
            } finally {
                got.release();
            }
        }

        @Test
        void fromATrustedProxyTheConnectionCountsAgainstTheClient() {
            EmbeddedChannel ch = channelFrom("10.0.0.1");
            ch.writeInbound(request("X-Forwarded-For", "198.51.100.3"));

            FullHttpRequest got = ch.readInbound();
            try {
                assertThat(got.headers().get("X-Forwarded-For")).as("kept for the handlers").isEqualTo("198.51.100.3");
                assertThat(ConnectionGuard.of(ch).source()).isEqualTo(ip("198.51.100.3"));
                assertThat(guard.anonymousFrom(ip("198.51.100.3"))).isEqualTo(1);
            } finally {
                got.release();
            }
        }

        @Test
        void aClientAtItsCapIsRefused503() {
            channelFrom("198.51.100.3"); // holds the client's one anonymous slot
            EmbeddedChannel ch = channelFrom("10.0.0.1");
            FullHttpRequest r = request("X-Real-IP", "198.51.100.3");

            ch.writeInbound(r);

            assertThat(ch.<Object>readInbound()).as("not forwarded").isNull();
            assertThat(r.refCnt()).as("released").isZero();
            FullHttpResponse resp = ch.readOutbound();
            assertThat(resp.status()).isEqualTo(HttpResponseStatus.SERVICE_UNAVAILABLE);
            resp.release();
            assertThat(ch.isOpen()).isFalse();
        }

        @Test
        void aTrustedProxyNamingNobodyIsLeftAlone() {
            EmbeddedChannel ch = channelFrom("10.0.0.1");
            ch.writeInbound(request());
            Object got = ch.readInbound();
            assertThat(got).isNotNull();
            ReferenceCountUtil.release(got);
            assertThat(ConnectionGuard.of(ch).source()).isEqualTo(ip("10.0.0.1"));
        }
    }

    @Nested
    class Fuzz {
        static final String[] PIECES = {"0", "1", "9", "255", "256", "999999", "a", "f", "g", "ff", ".", ":", "::", "[", "]",
                ",", " ", "\t", "%", "%25", "eth0", "-", "/", "é", "١", "٣", "𝟙", "\u0000", "\u00a0", "\ufeff", "localhost",
                "example.com", "xn--", "0x7f", "1e3", "+", "\r", "\n"};

        final Random random = new Random(20_260_517L);

        String garbage() {
            StringBuilder b = new StringBuilder();
            int n = random.nextInt(random.nextInt(10) == 0 ? 400 : 12);
            for (int i = 0; i < n; i++) {
                if (random.nextInt(8) == 0) {
                    int cp = random.nextInt(Character.MAX_CODE_POINT + 1);
                    if (Character.isSurrogate((char) cp) && cp <= 0xFFFF) b.append((char) cp); // a lone half, too
                    else b.appendCodePoint(cp);
                } else {
                    b.append(PIECES[random.nextInt(PIECES.length)]);
                }
            }
            return b.toString();
        }

        @Test
        void arbitraryHeaderValuesNeverThrowAndNeverResolveNames() {
            List<String> before = RecordingResolverProvider.lookupsBy(Thread.currentThread());
            for (int i = 0; i < 50_000; i++) {
                String s = garbage();
                assertThatCode(() -> ProxyHeaders.literal(s)).as("literal(%s)", s).doesNotThrowAnyException();
                HttpHeaders h = headers("True-Client-IP", garbage(), "X-Real-IP", garbage(),
                        "X-Forwarded-For", garbage() + "," + garbage(), "X-Forwarded-For", s);
                assertThatCode(() -> ProxyHeaders.clientOf(h, TRUSTED)).as("clientOf(%s)", h).doesNotThrowAnyException();
            }
            assertThatCode(() -> ProxyHeaders.literal("1".repeat(1 << 20))).doesNotThrowAnyException();
            assertThat(ProxyHeaders.literal("example.com")).isNull();
            assertThat(ProxyHeaders.literal("localhost")).isNull();
            // forms Go's net.ParseIP refuses, though inet_aton and Java's ofLiteral take them
            assertThat(ProxyHeaders.literal("127.1")).isNull();
            assertThat(ProxyHeaders.literal("010.0.0.1")).isNull();
            assertThat(ProxyHeaders.literal("1.2.3.256")).isNull();
            assertThat(ProxyHeaders.literal("fe80::1%eth0")).isNull();
            assertThat(ProxyHeaders.literal("[fe80::1%eth0]:443")).isNull();
            assertThat(ProxyHeaders.literal("10.0.0.1")).isEqualTo(ip("10.0.0.1"));
            assertThat(ProxyHeaders.literal("0.0.0.0")).isEqualTo(ip("0.0.0.0"));
            assertThat(ProxyHeaders.literal("::ffff:1.2.3.4")).isNotNull();

            assertThat(RecordingResolverProvider.lookupsBy(Thread.currentThread())).isEqualTo(before);
        }

        @Test
        void theResolverRecorderSeesLookups() throws UnknownHostException {
            // Without this the test above could pass because nothing was watching.
            InetAddress.getByName("localhost");
            assertThat(RecordingResolverProvider.lookupsBy(Thread.currentThread())).contains("localhost");
        }

        InetAddress randomUntrusted() {
            byte[] b = new byte[random.nextBoolean() ? 4 : 16];
            while (true) {
                random.nextBytes(b);
                try {
                    InetAddress a = InetAddress.getByAddress(b); // builds an address, never resolves
                    if (!TRUSTED.test(a)) return a;
                } catch (UnknownHostException e) {
                    throw new AssertionError(e);
                }
            }
        }

        /** {@code a} as a proxy might write it: bare, with a port, IPv6 in brackets, with spaces around. */
        String written(InetAddress a) {
            String s = a.getHostAddress();
            boolean v6 = s.contains(":");
            String w = switch (random.nextInt(3)) {
                case 0 -> s;
                case 1 -> v6 ? "[" + s + "]" : s + ":" + random.nextInt(65536);
                default -> v6 ? "[" + s + "]:" + random.nextInt(65536) : s;
            };
            return " ".repeat(random.nextInt(3)) + w + " ".repeat(random.nextInt(2));
        }

        @Test
        void anAddressIsReadBackHoweverAProxyWritesIt() {
            for (int i = 0; i < 20_000; i++) {
                InetAddress a = randomUntrusted();
                String w = written(a);
                assertThat(ProxyHeaders.literal(w)).as(w).isEqualTo(a);
            }
        }

        @Test
        void theClientIsTheRightmostHopThatIsNotATrustedProxy() {
            List<InetAddress> trusted = List.of(ip("10.0.0.1"), ip("10.0.0.2"), ip("fd00::1"));
            for (int i = 0; i < 20_000; i++) {
                List<InetAddress> chain = new ArrayList<>();
                int n = 1 + random.nextInt(8);
                for (int j = 0; j < n; j++) {
                    chain.add(random.nextInt(3) == 0 ? randomUntrusted() : trusted.get(random.nextInt(trusted.size())));
                }
                int malformed = random.nextInt(6) == 0 ? random.nextInt(n) : -1;
                InetAddress expected = null;
                for (int j = n - 1; j >= 0 && expected == null; j--) {
                    if (j == malformed) break;
                    if (!TRUSTED.test(chain.get(j))) expected = chain.get(j);
                }

                // The hops, split over one to three header lines as several proxies may add them.
                HttpHeaders h = headers();
                StringBuilder line = new StringBuilder();
                for (int j = 0; j < n; j++) {
                    if (!line.isEmpty()) line.append(',');
                    line.append(j == malformed ? "not-an-ip" : written(chain.get(j)));
                    if (j < n - 1 && random.nextInt(4) == 0) {
                        h.add("X-Forwarded-For", line.toString());
                        line.setLength(0);
                    }
                }
                h.add("X-Forwarded-For", line.toString());

                assertThat(ProxyHeaders.clientOf(h, TRUSTED)).as("%s", h.getAll("X-Forwarded-For")).isEqualTo(expected);
            }
        }
    }
}
