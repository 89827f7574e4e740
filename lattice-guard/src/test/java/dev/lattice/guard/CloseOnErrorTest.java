package dev.lattice.guard;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.ssl.SslHandler;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link CloseOnError}: bad input closes the connection and leaves one short, rate-limited line, quoting nothing. */
class CloseOnErrorTest {
    final CapturedLog log = CapturedLog.fresh(Level.INFO);
    final CloseOnError closeOnError = new CloseOnError(new LogLimiter(log.logger, Duration.ofMinutes(1), 5), "control connection");

    @AfterEach
    void detach() {
        log.close();
    }

    EmbeddedChannel from(String ip) {
        GuardedChannel ch = new GuardedChannel(ip);
        ch.pipeline().addLast(closeOnError);
        return ch;
    }

    @Test
    void anExceptionClosesTheConnectionWithOneLineAndNoStackTrace() {
        EmbeddedChannel ch = from("192.0.2.1");
        ch.pipeline().fireExceptionCaught(new DecoderException(new TooLongFrameException("frame length exceeds 65536: 1048576")));

        assertThat(ch.isOpen()).isFalse();
        assertThat(log.events()).singleElement().satisfies(e -> {
            assertThat(e.getThrowableProxy()).as("no stack trace").isNull();
            assertThat(e.getLevel()).isEqualTo(Level.INFO);
            assertThat(e.getFormattedMessage()).isEqualTo(
                    "closing control connection from 192.0.2.1: TooLongFrameException: frame length exceeds 65536: 1048576");
        });
    }

    @Test
    void plainTextOnATlsPortIsNotQuotedInTheLog() {
        // SslHandler's NotSslRecordException carries a hex dump of whatever the peer sent, secrets included.
        SSLEngine engine;
        try {
            engine = SSLContext.getDefault().createSSLEngine();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        engine.setUseClientMode(false);
        GuardedChannel ch = new GuardedChannel("192.0.2.1");
        ch.pipeline().addLast(new SslHandler(engine), closeOnError);
        String request = "GET /?t=SECRETSECRET HTTP/1.1\r\nHost: h\r\n\r\n";
        byte[] bytes = request.getBytes(StandardCharsets.US_ASCII);

        ch.writeInbound(Unpooled.wrappedBuffer(bytes));

        assertThat(ch.isOpen()).isFalse();
        ILoggingEvent line = log.events().getFirst();
        assertThat(line.getFormattedMessage())
                .endsWith("NotSslRecordException: not an SSL/TLS record: <bytes>")
                .doesNotContain(io.netty.buffer.ByteBufUtil.hexDump(bytes, 0, 4)) // "GET " in hex
                .doesNotContain("SECRET")
                .doesNotContain(io.netty.buffer.ByteBufUtil.hexDump("SECRET".getBytes(StandardCharsets.US_ASCII)));
        assertThat(line.getThrowableProxy()).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void aNettyHexDumpIsCutOff() {
        String described = CloseOnError.describe(new DecoderException(
                "HTTP/2 client preface string missing or corrupt. Hex dump for received bytes: 474554202f"));
        assertThat(described).isEqualTo("DecoderException: HTTP/2 client preface string missing or corrupt.");
    }

    @Test
    void controlCharactersCannotForgeLogLines() {
        String described = CloseOnError.describe(new IllegalArgumentException("bad\nINFO fake line\r\u0000"));
        assertThat(described).doesNotContain("\n", "\r", "\u0000").isEqualTo("IllegalArgumentException: bad?INFO fake line??");
    }

    @Test
    void longMessagesAreShortened() {
        String described = CloseOnError.describe(new IllegalStateException("x".repeat(10_000)));
        assertThat(described.length()).isLessThanOrEqualTo("IllegalStateException: ".length() + 121);
    }

    @Test
    void anExceptionWithoutAMessageIsNamed() {
        assertThat(CloseOnError.describe(new DecoderException(new NullPointerException()))).isEqualTo("NullPointerException");
    }

    @Test
    void aFloodFromOneAddressLogsOneLine() {
        for (int i = 0; i < 100; i++) {
            from("192.0.2.1").pipeline().fireExceptionCaught(new DecoderException("garbage " + i));
        }
        from("192.0.2.2").pipeline().fireExceptionCaught(new DecoderException("garbage"));

        assertThat(log.lines()).hasSize(2);
        assertThat(log.lines().get(1)).contains("192.0.2.2");
    }

    @Test
    void aChannelWithoutAnIpAddressIsNamedAsItIs() {
        EmbeddedChannel ch = new EmbeddedChannel(closeOnError);
        ch.pipeline().fireExceptionCaught(new DecoderException("garbage"));
        assertThat(ch.isOpen()).isFalse();
        assertThat(log.lines()).singleElement().asString().startsWith("closing control connection from embedded");
    }
}
