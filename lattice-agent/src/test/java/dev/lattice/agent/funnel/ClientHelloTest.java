package dev.lattice.agent.funnel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ingress's SNI reader against real ClientHellos (the JDK's, TLS 1.3 and 1.2), every prefix of them, the same
 * hello cut into many records, and a fuzz of mutated and random bytes from the internet: it never throws, never
 * answers a name before the hello is whole, and a name it answers is a plain lower-case host name.
 */
class ClientHelloTest {
    static byte[] hello(String sni, String protocol) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, null, null);
        SSLEngine e = ctx.createSSLEngine(sni, 443);
        e.setUseClientMode(true);
        SSLParameters p = e.getSSLParameters();
        p.setServerNames(sni != null ? List.of(new SNIHostName(sni)) : List.of());
        p.setProtocols(new String[] {protocol});
        e.setSSLParameters(p);
        ByteBuffer out = ByteBuffer.allocate(1 << 16);
        e.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] b = new byte[out.remaining()];
        out.get(b);
        return b;
    }

    /** The hello's handshake bytes in records of at most {@code size} bytes. */
    static byte[] refragment(byte[] rec, int size) {
        byte[] hs = Arrays.copyOfRange(rec, 5, rec.length);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (int i = 0; i < hs.length; i += size) {
            int n = Math.min(size, hs.length - i);
            o.write(22);
            o.write(3);
            o.write(1);
            o.write(n >> 8);
            o.write(n);
            o.write(hs, i, n);
        }
        return o.toByteArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void aRealHelloGivesItsNameAndNoPrefixDoes(String protocol) throws Exception {
        byte[] h = hello("H1.Tailnet.test", protocol);
        assertThat(ClientHello.parse(h, h.length)).isEqualTo(new ClientHello.Result(ClientHello.Status.FOUND, "h1.tailnet.test"));
        for (int n = 0; n < h.length; n++) {
            assertThat(ClientHello.parse(h, n).status()).as("prefix of %d bytes", n).isEqualTo(ClientHello.Status.NEED_MORE);
        }
        // followed by more bytes (the client's next flight in the same read): still the name
        byte[] more = Arrays.copyOf(h, h.length + 50);
        assertThat(ClientHello.parse(more, more.length).name()).isEqualTo("h1.tailnet.test");
    }

    @Test
    void aHelloAcrossManyRecordsIsGathered() throws Exception {
        byte[] h = hello("web.tailnet.test", "TLSv1.3");
        for (int size : new int[] {1, 7, 100, 512}) {
            byte[] f = refragment(h, size);
            assertThat(ClientHello.parse(f, f.length).name()).as("records of %d", size).isEqualTo("web.tailnet.test");
            assertThat(ClientHello.parse(f, f.length - 1).status()).isEqualTo(ClientHello.Status.NEED_MORE);
        }
    }

    @Test
    void noNameAndNotTlsAreToldApart() throws Exception {
        byte[] none = hello(null, "TLSv1.3");
        assertThat(ClientHello.parse(none, none.length).status()).isEqualTo(ClientHello.Status.NO_SNI);
        byte[] http = "GET / HTTP/1.1\r\nHost: h1.tailnet.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        assertThat(ClientHello.parse(http, http.length).status()).isEqualTo(ClientHello.Status.INVALID);
        byte[] alert = {21, 3, 3, 0, 2, 2, 40};
        assertThat(ClientHello.parse(alert, alert.length).status()).isEqualTo(ClientHello.Status.INVALID);
        byte[] serverHello = hello("a.b", "TLSv1.3").clone();
        serverHello[5] = 2; // handshake type ServerHello
        assertThat(ClientHello.parse(serverHello, serverHello.length).status()).isEqualTo(ClientHello.Status.INVALID);
        byte[] huge = {22, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00}; // claims a 64 KiB hello
        assertThat(ClientHello.parse(huge, huge.length).status()).isEqualTo(ClientHello.Status.INVALID);
    }

    @Test
    void namesThatAreNotHostNamesAreRefused() throws Exception {
        byte[] h = hello("abc.tailnet.test", "TLSv1.3");
        int at = indexOf(h, "abc.tailnet.test".getBytes(StandardCharsets.US_ASCII));
        for (byte bad : new byte[] {'/', ' ', 0, (byte) 0xc3, '\n', ':'}) {
            byte[] m = h.clone();
            m[at + 1] = bad;
            assertThat(ClientHello.parse(m, m.length).status()).as("byte %d in the name", bad).isEqualTo(ClientHello.Status.INVALID);
        }
        byte[] m = h.clone();
        m[at + 3] = '.';
        m[at + 4] = '.';
        assertThat(ClientHello.parse(m, m.length).status()).as("an empty label").isEqualTo(ClientHello.Status.INVALID);
    }

    @Test
    void fuzzNeverThrowsAndOnlyAnswersHostNames() throws Exception {
        byte[][] seeds = {hello("h1.tailnet.test", "TLSv1.3"), hello("x.example", "TLSv1.2"), refragment(hello("y.z", "TLSv1.3"), 40),
                hello(null, "TLSv1.3")};
        Random r = new Random(20261205);
        int found = 0;
        for (int i = 0; i < 40_000; i++) {
            byte[] b;
            if (i % 10 == 0) {
                b = new byte[r.nextInt(300)];
                r.nextBytes(b);
                if (b.length > 0 && r.nextBoolean()) b[0] = 22;
                if (b.length > 1 && r.nextBoolean()) b[1] = 3;
            } else {
                byte[] s = seeds[r.nextInt(seeds.length)];
                b = s.clone();
                int flips = 1 + r.nextInt(4);
                for (int f = 0; f < flips; f++) {
                    int at = r.nextInt(b.length);
                    switch (r.nextInt(3)) {
                        case 0 -> b[at] = (byte) r.nextInt(256);
                        case 1 -> b[at] ^= (byte) (1 << r.nextInt(8));
                        default -> b[at] = (byte) (r.nextBoolean() ? 0 : 0xff);
                    }
                }
                if (r.nextInt(5) == 0) b = Arrays.copyOf(b, r.nextInt(b.length + 1));
            }
            ClientHello.Result res = ClientHello.parse(b, b.length);
            assertThat(res).isNotNull();
            if (res.status() == ClientHello.Status.FOUND) {
                found++;
                assertThat(res.name()).matches("[a-z0-9_-]{1,63}(\\.[a-z0-9_-]{1,63})*").hasSizeLessThanOrEqualTo(253);
            } else {
                assertThat(res.name()).isNull();
            }
        }
        assertThat(found).as("mutations outside the name still parse").isGreaterThan(1000);
    }

    static int indexOf(byte[] h, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= h.length; i++) {
            for (int j = 0; j < needle.length; j++) if (h[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}
