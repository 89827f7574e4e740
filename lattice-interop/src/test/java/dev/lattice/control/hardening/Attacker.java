package dev.lattice.control.hardening;

import dev.lattice.controlclient.ControlChannel;
import dev.lattice.controlclient.ServerKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.RegisterResponseAuth;
import dev.lattice.wire.tailcfg.Tailcfg;
import dev.lattice.wire.ts2021.ControlHandshake;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** What a stranger on the internet can do to lattice-control with nothing but its URL. */
final class Attacker {
    private final EventLoopGroup group;
    private final URI url;
    private final MachinePublicKey serverKey;

    Attacker(EventLoopGroup group, URI url) throws Exception {
        this.group = group;
        this.url = url;
        this.serverKey = ServerKey.fetch(url, CapabilityVersion.CURRENT);
    }

    /** A ts2021 channel with a fresh, unregistered machine key, from the attacker's address (127.0.0.2). */
    ControlChannel channel() throws Exception {
        return channelFrom("127.0.0.2");
    }

    ControlChannel channelFrom(String source) throws Exception {
        return ControlChannel.connect(group, url, null, MachinePrivateKey.generate(), serverKey, CapabilityVersion.CURRENT,
                new InetSocketAddress(source, 0)).get(10, TimeUnit.SECONDS);
    }

    /**
     * Opens {@code streams} HTTP/2 streams on {@code ch}, each a {@code POST /machine/register} declaring a
     * {@code bodyBytes} body of which it sends all but the last byte, then never finishes. Returns the number of
     * streams the server reset or answered (it is not obliged to read them all).
     */
    AtomicInteger halfSentBodies(ControlChannel ch, int streams, int bodyBytes) {
        AtomicInteger answered = new AtomicInteger();
        ByteBuf chunk = Unpooled.unreleasableBuffer(Unpooled.directBuffer(16 << 10).writeZero(16 << 10));
        for (int i = 0; i < streams; i++) {
            new Http2StreamChannelBootstrap(ch.channel()).handler(new ChannelInitializer<Http2StreamChannel>() {
                @Override
                protected void initChannel(Http2StreamChannel s) {
                    s.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ReferenceCountUtil.release(msg);
                            answered.incrementAndGet();
                        }
                    });
                }
            }).open().addListener(f -> {
                if (!f.isSuccess()) return;
                Http2StreamChannel s = (Http2StreamChannel) f.getNow();
                DefaultHttp2Headers h = new DefaultHttp2Headers();
                h.method("POST").path("/machine/register").scheme("http").authority("x");
                h.setInt("content-length", bodyBytes);
                s.write(new DefaultHttp2HeadersFrame(h, false));
                int left = bodyBytes - 1;
                while (left > 0) {
                    int n = Math.min(left, chunk.capacity());
                    s.write(new DefaultHttp2DataFrame(chunk.retainedSlice(0, n), false));
                    left -= n;
                }
                s.flush();
            });
        }
        return answered;
    }

    /**
     * A valid ts2021 handshake, then one sealed record of random bytes where the HTTP/2 preface should be. Returns
     * when the server has closed the connection (or after 10 s).
     */
    void garbageAfterHandshake() throws IOException, Exception {
        ControlHandshake.Client hs = new ControlHandshake.Client(MachinePrivateKey.generate(), serverKey, CapabilityVersion.CURRENT);
        try (Socket s = new Socket(url.getHost(), url.getPort(), java.net.InetAddress.getByName("127.0.0.2"), 0)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /ts2021 HTTP/1.1\r\nHost: x\r\nUpgrade: tailscale-control-protocol\r\nConnection: upgrade\r\n"
                    + "X-Tailscale-Handshake: " + Base64.getEncoder().encodeToString(hs.initiation())
                    + "\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            skipHttpHead(in);
            byte[] head = in.readNBytes(3);
            int len = ((head[1] & 0xff) << 8) | (head[2] & 0xff);
            byte[] reply = new byte[3 + len];
            System.arraycopy(head, 0, reply, 0, 3);
            in.readNBytes(reply, 3, len);
            ControlHandshake.Established est = hs.finish(reply);
            byte[] junk = new byte[200];
            ThreadLocalRandom.current().nextBytes(junk);
            out.write(est.tx().sealRecord(junk, 0, junk.length));
            out.flush();
            try {
                while (in.read(new byte[4096]) >= 0) {
                    // drain until the server closes
                }
            } catch (IOException ignored) {
                // reset or timeout: either way we are done
            }
        }
    }

    private static void skipHttpHead(InputStream in) throws IOException {
        int state = 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) throw new IOException("closed during the upgrade");
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
    }

    /**
     * Opens up to {@code n} TCP connections from {@code source} to {@code target} that each send {@code prefix} and
     * then nothing (or trickle, see {@link #trickle}). Connections the server refuses or closes are not retried.
     */
    static List<Socket> openMany(InetSocketAddress target, String source, int n, String prefix) {
        List<Socket> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            try {
                Socket s = new Socket();
                s.bind(new InetSocketAddress(source, 0));
                s.connect(target, 2000);
                if (!prefix.isEmpty()) s.getOutputStream().write(prefix.getBytes(StandardCharsets.US_ASCII));
                out.add(s);
            } catch (IOException e) {
                // refused or shed: keep going, a real attacker would
            }
        }
        return out;
    }

    /** Writes one more header byte on each socket. */
    static void trickle(List<Socket> sockets) {
        for (Socket s : sockets) {
            try {
                s.getOutputStream().write('X');
            } catch (IOException e) {
                // closed by the server; noticed by stillOpen
            }
        }
    }

    /** The sockets the server has not closed yet. */
    static List<Socket> stillOpen(List<Socket> sockets) {
        List<Socket> open = new ArrayList<>();
        for (Socket s : sockets) if (!closedByServer(s)) open.add(s);
        return open;
    }

    /** Whether the server has closed {@code s} (a read sees EOF or a reset; a response counts as not yet). */
    static boolean closedByServer(Socket s) {
        try {
            s.setSoTimeout(1);
            byte[] buf = new byte[4096];
            while (true) {
                if (s.getInputStream().read(buf) < 0) return true;
            }
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    static void closeAll(List<Socket> sockets) {
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    /** Registers a fresh node with {@code authKey} from a bystander's address (127.0.0.1); true when authorized in 10 s. */
    boolean registerFresh(String authKey) {
        try (ControlChannel ch = channelFrom("127.0.0.1")) {
            RegisterRequest req = RegisterRequest.builder().version(CapabilityVersion.CURRENT)
                    .nodeKey(NodePrivateKey.generate().publicKey())
                    .hostinfo(Hostinfo.empty().withHostname("probe").withOs("linux"))
                    .auth(new RegisterResponseAuth(null, null, null, authKey)).build();
            ControlChannel.Response r = ch.request(HttpMethod.POST, "/machine/register", Tailcfg.json().writeValueAsBytes(req))
                    .get(10, TimeUnit.SECONDS);
            if (r.status() != 200) return false;
            RegisterResponse rr = Tailcfg.json().readValue(r.body(), RegisterResponse.class);
            return Boolean.TRUE.equals(rr.machineAuthorized());
        } catch (Exception e) {
            return false;
        }
    }
}
