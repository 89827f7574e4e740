package dev.lattice.guard;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link RequestDeadline} after an HTTP/1 codec and aggregator, on an embedded channel whose clock the test moves.
 */
class RequestDeadlineTest {
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    EmbeddedChannel ch;

    EmbeddedChannel http(boolean keepAlive) {
        ch = new EmbeddedChannel();
        ch.freezeTime();
        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 16), new RequestDeadline(TIMEOUT, keepAlive));
        return ch;
    }

    @AfterEach
    void release() {
        if (ch != null) ch.finishAndReleaseAll();
    }

    void elapse(long seconds) {
        ch.advanceTimeBy(seconds, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
    }

    void send(String s) {
        ch.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII));
    }

    /** The request the handler got, released; asserts there is one. */
    void handled(String uri) {
        Object m = ch.readInbound();
        assertThat(m).isInstanceOf(FullHttpRequest.class);
        assertThat(((FullHttpRequest) m).uri()).isEqualTo(uri);
        ReferenceCountUtil.release(m);
    }

    void respond() {
        ch.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
        for (Object m; (m = ch.readOutbound()) != null; ) ReferenceCountUtil.release(m);
    }

    static final String GET = "GET /key HTTP/1.1\r\nHost: h\r\n\r\n";

    @Test
    void aConnectionThatSendsNothingIsClosedAtTheDeadline() {
        http(true);
        elapse(29);
        assertThat(ch.isOpen()).isTrue();
        elapse(1);
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void aClientTricklingOneByteAtATimeIsClosedAtTheDeadline() {
        // A read timeout of a few seconds never fires on this client; the absolute deadline does.
        http(true);
        String slow = "GET /key HTTP/1.1\r\nHost: h\r\nX-Padding: " + "a".repeat(100) + "\r\n\r\n";
        int i = 0;
        for (; i < 30 && ch.isOpen(); i++) {
            send(slow.substring(i, i + 1));
            elapse(1);
        }
        assertThat(ch.isOpen()).isFalse();
        assertThat(i).isEqualTo(30);
        for (Object m; (m = ch.readInbound()) != null; ) {
            // On close the codec hands on what it had, marked as failed.
            assertThat(((FullHttpRequest) m).decoderResult().isFailure()).as("the request never arrived whole").isTrue();
            ReferenceCountUtil.release(m);
        }
    }

    @Test
    void aRequestBeingHandledIsNotTimed() {
        http(true);
        elapse(20);
        send(GET);
        handled("/key");

        elapse(600); // a long poll

        assertThat(ch.isOpen()).isTrue();
    }

    @Test
    void keepAliveConnectionsMustSendTheNextRequestWithinTheTimeout() {
        http(true);
        send(GET);
        handled("/key");
        elapse(100);
        respond();

        elapse(29);
        assertThat(ch.isOpen()).isTrue();
        send(GET);
        handled("/key");
        respond();
        elapse(29);
        assertThat(ch.isOpen()).as("the clock restarted with the second response").isTrue();
        elapse(1);
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void theClockRestartsOnlyWhenTheWholeResponseIsWritten() {
        http(true);
        send(GET);
        handled("/key");
        ch.writeAndFlush(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
        ch.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[10])));
        elapse(60);
        assertThat(ch.isOpen()).as("a streaming response is still being written").isTrue();

        ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        elapse(30);
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void withoutKeepAliveTheDeadlineCoversOnlyTheOneRequest() {
        // An HTTP/2 stream carries one request; after it, the stream ends and the connection watches itself.
        http(false);
        send(GET);
        handled("/key");
        respond();
        elapse(600);
        assertThat(ch.isOpen()).isTrue();
    }

    @Test
    void aPipelinedRequestIsNotTimedWhileItIsHandled() {
        // Two requests in one packet: answering the first must not start the clock on the second.
        http(true);
        send(GET + GET.replace("/key", "/second"));
        handled("/key");
        handled("/second");
        respond();

        elapse(60);
        assertThat(ch.isOpen()).as("the second request is still being handled").isTrue();

        respond();
        elapse(30);
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void removingTheHandlerStopsTheClock() {
        // A protocol upgrade (ts2021, DERP) removes the HTTP handlers; the upgraded connection has its own limits.
        http(true);
        ch.pipeline().remove(RequestDeadline.class);
        elapse(600);
        assertThat(ch.isOpen()).isTrue();
    }
}
