package dev.lattice.wireguard.uapi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Buffered, bounded reading of {@code '\n'}-terminated lines and single bytes from a blocking channel. Bytes are
 * decoded as ISO-8859-1, one char per byte, so no input can fail to decode and lengths are byte counts.
 */
final class LineReader {

    /** A line without its {@code '\n'}; {@code terminated} is false for a last line cut off by end of stream. */
    record Line(String text, boolean terminated) {}

    /** A line did not end within the allowed number of bytes; the stream position is somewhere inside it. */
    static final class LineTooLongException extends IOException {
        private static final long serialVersionUID = 1L;

        LineTooLongException(int max) {
            super("line longer than " + max + " bytes");
        }
    }

    private final ReadableByteChannel channel;
    private final ByteBuffer buf;

    LineReader(ReadableByteChannel channel, int bufferSize) {
        this.channel = channel;
        this.buf = ByteBuffer.allocate(bufferSize).flip();
    }

    /** The next byte 0..255, or -1 at end of stream. */
    int readByte() throws IOException {
        if (!buf.hasRemaining() && !fill()) return -1;
        return buf.get() & 0xff;
    }

    /**
     * The next line of at most {@code maxBytes} bytes (not counting {@code '\n'}), or null at end of stream.
     *
     * @throws LineTooLongException once {@code maxBytes} bytes have been read without a {@code '\n'}
     */
    Line readLine(int maxBytes) throws IOException {
        byte[] acc = null;
        int len = 0;
        while (true) {
            if (!buf.hasRemaining() && !fill()) {
                return len == 0 ? null : new Line(new String(acc, 0, len, StandardCharsets.ISO_8859_1), false);
            }
            int start = buf.position();
            int limit = buf.limit();
            int nl = -1;
            byte[] array = buf.array();
            for (int i = start; i < limit; i++) {
                if (array[i] == '\n') {
                    nl = i;
                    break;
                }
            }
            int take = (nl < 0 ? limit : nl) - start;
            if ((long) len + take > maxBytes) throw new LineTooLongException(maxBytes);
            if (nl >= 0 && len == 0) { // whole line in the buffer: no copy
                buf.position(nl + 1);
                return new Line(new String(array, start, take, StandardCharsets.ISO_8859_1), true);
            }
            if (acc == null) {
                acc = new byte[Math.max(take, 256)];
            } else if (acc.length < len + take) {
                acc = Arrays.copyOf(acc, Math.max(len + take, Math.min(maxBytes, acc.length * 2)));
            }
            buf.get(acc, len, take);
            len += take;
            if (nl >= 0) {
                buf.get(); // the '\n'
                return new Line(new String(acc, 0, len, StandardCharsets.ISO_8859_1), true);
            }
        }
    }

    /**
     * Drops whatever has been read from the channel but not consumed, as wireguard-go loses what its line scanner
     * had buffered when a {@code set} fails.
     */
    void discardBuffered() {
        buf.position(buf.limit());
    }

    private boolean fill() throws IOException {
        buf.clear();
        int n;
        try {
            n = channel.read(buf);
        } finally {
            buf.flip();
        }
        return n > 0;
    }
}
