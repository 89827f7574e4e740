package dev.lattice.wireguard.uapi;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A raw UAPI client for tests: send bytes, read back what the server says until it stops talking. */
final class UapiTestClient implements AutoCloseable {
    private final SocketChannel channel;
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private boolean eof;

    UapiTestClient(Path socket) throws IOException {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
    }

    /** One request on a fresh connection; returns the whole reply (up to the final blank line). */
    static String request(Path socket, String request) throws IOException {
        try (UapiTestClient c = new UapiTestClient(socket)) {
            c.send(request);
            return c.readReplies(1);
        }
    }

    static String get(Path socket) throws IOException {
        return request(socket, "get=1\n\n");
    }

    static String set(Path socket, String... lines) throws IOException {
        return request(socket, "set=1\n" + String.join("\n", lines) + (lines.length == 0 ? "" : "\n") + "\n");
    }

    void send(String text) throws IOException {
        send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    void send(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) channel.write(b);
    }

    void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    /** Reads until {@code n} replies (each ending in {@code errno=N\n\n}) arrived, or end of stream. */
    String readReplies(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8192);
        while (!eof && countReplies(received.toString(StandardCharsets.ISO_8859_1)) < n) {
            b.clear();
            int r = channel.read(b);
            if (r < 0) {
                eof = true;
                break;
            }
            received.write(b.array(), 0, r);
        }
        return received.toString(StandardCharsets.ISO_8859_1);
    }

    /** True if the server closed the connection (reads end of stream within the timeout). */
    boolean closedByServer(Duration timeout) throws IOException {
        if (eof) return true;
        // a platform thread: the answer must not wait for a carrier that other tests' virtual threads keep busy
        try (var exec = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().daemon(true).factory())) {
            // reads to the end: an answer the server sent before closing is not the close
            Future<Integer> f = exec.submit(() -> {
                ByteBuffer b = ByteBuffer.allocate(512);
                int r;
                do {
                    b.clear();
                    r = channel.read(b);
                } while (r >= 0);
                return r;
            });
            try {
                int r = f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                eof = r < 0;
                return eof;
            } catch (TimeoutException e) {
                channel.close(); // unblocks the read
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            } catch (ExecutionException e) {
                return true; // reset by the server
            }
        }
    }

    private static int countReplies(String s) {
        int count = 0;
        int from = 0;
        while (true) {
            int i = s.indexOf("errno=", from);
            if (i < 0) return count;
            if (i != 0 && s.charAt(i - 1) != '\n') {
                from = i + 1;
                continue;
            }
            int end = s.indexOf("\n\n", i);
            if (end < 0) return count;
            count++;
            from = end + 2;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
