package dev.lattice.derp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.derp.transport.FrameDecoder;
import dev.lattice.wire.derp.ClientInfo;
import dev.lattice.wire.derp.Derp;
import dev.lattice.wire.derp.DerpFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The handler in a pipeline shaped like the control server's: codec, aggregator, DERP, the lead's router. */
class DerpHttpHandlerTest {
    private final NodePrivateKey serverKey = NodePrivateKey.generate();
    private final DerpServer server = new DerpServer(serverKey);
    private final List<Object> routed = new ArrayList<>();

    private EmbeddedChannel channel() {
        return new EmbeddedChannel(new HttpServerCodec(), new HttpObjectAggregator(65536), server.httpHandler(),
                new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        routed.add(msg);
                        io.netty.util.ReferenceCountUtil.release(msg);
                    }
                });
    }

    private static String out(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            sb.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return sb.toString();
    }

    private static ByteBuf ascii(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    @Test
    void probesAnd204AreAnsweredOtherRequestsPassThrough() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(ascii("GET /derp/probe HTTP/1.1\r\nHost: x\r\n\r\n"));
        assertThat(out(ch)).startsWith("HTTP/1.1 200 OK\r\n").containsIgnoringCase("access-control-allow-origin: *");
        ch.writeInbound(ascii("HEAD /derp/latency-check HTTP/1.1\r\nHost: x\r\n\r\n"));
        assertThat(out(ch)).startsWith("HTTP/1.1 200 OK\r\n");
        ch.writeInbound(ascii("POST /derp/probe HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
        assertThat(out(ch)).startsWith("HTTP/1.1 405");
        ch.writeInbound(ascii("GET /generate_204 HTTP/1.1\r\nHost: x\r\nX-Tailscale-Challenge: abc.DEF-1_2:3\r\n\r\n"));
        assertThat(out(ch)).startsWith("HTTP/1.1 204 No Content\r\n").contains("X-Tailscale-Response: response abc.DEF-1_2:3\r\n");
        ch.writeInbound(ascii("GET /generate_204 HTTP/1.1\r\nHost: x\r\nX-Tailscale-Challenge: bad char!\r\n\r\n"));
        assertThat(out(ch)).startsWith("HTTP/1.1 204").doesNotContain("X-Tailscale-Response");
        ch.writeInbound(ascii("GET /machine/map HTTP/1.1\r\nHost: x\r\n\r\n"));
        assertThat(routed).hasSize(1);
        assertThat(routed.getFirst().toString()).contains("/machine/map");
        assertThat(ch.isActive()).isTrue();
    }

    @Test
    void upgradeReplacesTheHttpHandlersAndKeepsBytesSentWithTheRequest() {
        EmbeddedChannel ch = channel();
        NodePrivateKey client = NodePrivateKey.generate();
        byte[] ci = new DerpFrame.ClientInfoFrame(client.publicKey(), ClientInfo.of(null, true).seal(serverKey.publicKey(), client)).encode();
        ByteBuf in = ascii("GET /derp HTTP/1.1\r\nHost: x\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n");
        in.writeBytes(ci);
        ch.writeInbound(in);
        ch.runPendingTasks();
        ch.runScheduledPendingTasks();
        String o = out(ch);
        String expect101 = "HTTP/1.1 101 Switching Protocols\r\nupgrade: DERP\r\nconnection: Upgrade\r\nDerp-Version: 2\r\nDerp-Public-Key: "
                + serverKey.publicKey().toHex() + "\r\n\r\n";
        assertThat(o).startsWithIgnoringCase(expect101);
        byte[] rest = o.substring(expect101.length()).getBytes(StandardCharsets.ISO_8859_1);
        assertThat(rest[0]).isEqualTo((byte) Derp.FRAME_SERVER_KEY);
        assertThat(rest[45]).as("ServerInfo follows: the ClientInfo sent with the request was not lost").isEqualTo((byte) Derp.FRAME_SERVER_INFO);
        assertThat(ch.pipeline().names()).contains("derp-frames", "derp-conn").noneMatch(n -> n.contains("HttpServerCodec"));
        assertThat(ch.pipeline().get(FrameDecoder.class)).isNotNull();
        assertThat(routed).isEmpty();
        assertThat(server.isLocal(client.publicKey())).isTrue();
        ch.close();
        assertThat(server.isLocal(client.publicKey())).isFalse();
    }
}
