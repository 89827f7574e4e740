package dev.lattice.controlclient;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.wire.ts2021.MapStreamFraming;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A map stream reads length-prefixed messages split anyhow, and does not keep a large message's room for ever. */
class MapStreamTest {
    @Test
    void aLargeMessagesBufferIsLetGoOnceItWasRead() {
        List<byte[]> got = new ArrayList<>();
        MapStream.Handler h = new MapStream.Handler(false, got::add);
        EmbeddedChannel ch = new EmbeddedChannel(h);
        byte[] big = new byte[1 << 20];
        Arrays.fill(big, (byte) 'x');
        byte[] framed = MapStreamFraming.frame(big, false);
        // In pieces, as HTTP/2 DATA frames bring it.
        for (int at = 0; at < framed.length; at += 16384) {
            ch.writeInbound(new DefaultHttpContent(Unpooled.wrappedBuffer(framed, at, Math.min(16384, framed.length - at))));
        }
        assertThat(got).hasSize(1);
        assertThat(got.getFirst()).isEqualTo(big);
        assertThat(h.bufferCapacity()).as("room kept after a 1 MiB message").isLessThanOrEqualTo(MapStream.Handler.KEEP_CAPACITY);

        byte[] small = MapStreamFraming.frame("{\"KeepAlive\":true}".getBytes(java.nio.charset.StandardCharsets.UTF_8), false);
        ch.writeInbound(new DefaultHttpContent(Unpooled.wrappedBuffer(small, 0, 3)));
        ch.writeInbound(new DefaultHttpContent(Unpooled.wrappedBuffer(small, 3, small.length - 3)));
        assertThat(got).hasSize(2);
        ch.finishAndReleaseAll();
    }
}
