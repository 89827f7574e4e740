package dev.lattice.derp;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.derp.ClientInfo;
import dev.lattice.wire.derp.DerpFrame;
import dev.lattice.wire.derp.ServerInfo;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A DERP client over a WebSocket as tailscale's derphttp speaks it with {@code TS_DEBUG_DERP_WS_CLIENT=1}: the JDK's
 * WebSocket client, subprotocol {@code derp}, DERP frames carried as binary messages (one frame a message), the
 * stream of messages read as one byte stream.
 */
public final class WsDerpClient implements AutoCloseable {
    public final NodePrivateKey key = NodePrivateKey.generate();
    private final HttpClient http = HttpClient.newHttpClient();
    private final ByteArrayOutputStream stream = new ByteArrayOutputStream();
    public final LinkedBlockingQueue<DerpFrame> frames = new LinkedBlockingQueue<>();
    public final CompletableFuture<String> closed = new CompletableFuture<>();
    private final WebSocket ws;
    public final String subprotocol;
    private NodePublicKey serverKey;

    public WsDerpClient(URI url) throws Exception {
        ws = http.newWebSocketBuilder().subprotocols("derp").connectTimeout(Duration.ofSeconds(5))
                .buildAsync(url, new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                        byte[] b = new byte[data.remaining()];
                        data.get(b);
                        synchronized (stream) {
                            stream.writeBytes(b);
                            drain();
                        }
                        w.request(1);
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onClose(WebSocket w, int status, String reason) {
                        closed.complete(status + " " + reason);
                        return null;
                    }

                    @Override
                    public void onError(WebSocket w, Throwable error) {
                        closed.complete("error " + error);
                    }
                }).get(10, TimeUnit.SECONDS);
        subprotocol = ws.getSubprotocol();
        DerpFrame first = frames.poll(5, TimeUnit.SECONDS);
        if (!(first instanceof DerpFrame.ServerKey sk)) throw new IllegalStateException("expected the server key, got " + first);
        serverKey = sk.key();
        send(new DerpFrame.ClientInfoFrame(key.publicKey(), ClientInfo.of(null, false).seal(serverKey, key)));
        DerpFrame info = frames.poll(5, TimeUnit.SECONDS);
        if (!(info instanceof DerpFrame.ServerInfoFrame si)) throw new IllegalStateException("expected server info, got " + info);
        ServerInfo.open(si.sealed(), serverKey, key);
    }

    public NodePublicKey serverKey() {
        return serverKey;
    }

    /** Splits the byte stream into frames (5-byte header: type, big-endian length). */
    private void drain() {
        byte[] all = stream.toByteArray();
        int off = 0;
        while (all.length - off >= 5) {
            int type = all[off] & 0xff;
            int len = ((all[off + 1] & 0xff) << 24) | ((all[off + 2] & 0xff) << 16) | ((all[off + 3] & 0xff) << 8) | (all[off + 4] & 0xff);
            if (all.length - off - 5 < len) break;
            frames.add(DerpFrame.decode(type, all, off + 5, len));
            off += 5 + len;
        }
        stream.reset();
        stream.write(all, off, all.length - off);
    }

    public void send(DerpFrame f) throws Exception {
        ws.sendBinary(ByteBuffer.wrap(f.encode()), true).get(5, TimeUnit.SECONDS);
    }

    /** The next packet relayed to us, skipping other frames; null after {@code timeout}. */
    public DerpFrame.RecvPacket nextPacket(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            DerpFrame f = frames.poll(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (f == null) return null;
            if (f instanceof DerpFrame.RecvPacket p) return p;
        }
    }

    @Override
    public void close() {
        ws.abort();
        http.close();
    }
}
