package dev.lattice.controlclient;

import dev.lattice.crypto.key.MachinePublicKey;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Key discovery: {@code GET /key?v=N} answers {@code {"legacyPublicKey":"mkey:…","publicKey":"mkey:…"}}. */
public final class ServerKey {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private ServerKey() {}

    public static MachinePublicKey fetch(URI server, int version) throws IOException, InterruptedException {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(server.resolve("/key?v=" + version))
                    .timeout(TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString());
            return parse(r.statusCode(), r.body());
        }
    }

    /**
     * As {@link #fetch(URI, int)}, on {@code group} with {@code dialer} applied to the connection's bootstrap (so a VPN
     * daemon's request carries the same socket options, such as its bypass mark, as its control connection).
     *
     * @param ssl TLS for https URLs, or null for http
     */
    public static MachinePublicKey fetch(EventLoopGroup group, URI server, int version, SslContext ssl,
            Consumer<Bootstrap> dialer) throws IOException, InterruptedException {
        boolean https = "https".equalsIgnoreCase(server.getScheme());
        if (https && ssl == null) throw new IOException("https control URL without TLS context");
        String host = server.getHost();
        int port = server.getPort() > 0 ? server.getPort() : https ? 443 : 80;
        CompletableFuture<String[]> result = new CompletableFuture<>();
        Bootstrap b = new Bootstrap().group(group)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) TIMEOUT.toMillis())
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (https) ch.pipeline().addLast(ssl.newHandler(ch.alloc(), host, port));
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(64 << 10),
                                new SimpleChannelInboundHandler<FullHttpResponse>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
                                        result.complete(new String[] {Integer.toString(res.status().code()),
                                                new String(ByteBufUtil.getBytes(res.content()), StandardCharsets.UTF_8)});
                                        ctx.close();
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        result.completeExceptionally(cause);
                                        ctx.close();
                                    }

                                    @Override
                                    public void channelInactive(ChannelHandlerContext ctx) {
                                        result.completeExceptionally(new IOException("connection closed before an answer"));
                                    }
                                });
                    }
                });
        dialer.accept(b);
        // The dialer may have chosen the channel type (epoll for socket options); NIO otherwise.
        if (b.config().channelFactory() == null) b.channel(NioSocketChannel.class);
        Channel ch = null;
        try {
            var f = b.connect(host, port);
            if (!f.await(TIMEOUT.toMillis()) || !f.isSuccess()) {
                Throwable c = f.cause();
                throw c instanceof IOException io ? io : new IOException(c == null ? "connect timed out" : c.toString(), c);
            }
            ch = f.channel();
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/key?v=" + version);
            req.headers().set(HttpHeaderNames.HOST, host + (server.getPort() > 0 ? ":" + server.getPort() : ""))
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ch.writeAndFlush(req);
            String[] r = result.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return parse(Integer.parseInt(r[0]), r[1]);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause().toString(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("no answer in " + TIMEOUT.toSeconds() + " s");
        } finally {
            if (ch != null) ch.close();
        }
    }

    private static MachinePublicKey parse(int status, String body) throws IOException {
        if (status != 200) throw new IOException("GET /key answered " + status);
        JsonNode n = JsonMapper.shared().readTree(body);
        JsonNode k = n.get("publicKey");
        if (k == null || !k.isString()) throw new IOException("GET /key: no publicKey in " + body);
        return MachinePublicKey.parse(k.asString());
    }
}
