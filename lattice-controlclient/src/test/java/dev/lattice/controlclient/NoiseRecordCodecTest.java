package dev.lattice.controlclient;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.noise.CipherState;
import dev.lattice.crypto.noise.NonceEncoding;
import dev.lattice.wire.ts2021.ControlCipher;
import dev.lattice.wire.ts2021.ControlMessages;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The record layer as the wire sees it: whatever the writes, every record but the last of a flush is full (4,096 bytes
 * on the wire, the protocol's largest), none is larger, and the other side gets the bytes back exactly, however the
 * socket cuts them.
 */
class NoiseRecordCodecTest {
    private static final int FULL = ControlMessages.MAX_PLAINTEXT_LEN; // 4,077
    private static final byte[] K1 = key(1);
    private static final byte[] K2 = key(2);

    private static byte[] key(int seed) {
        byte[] k = new byte[32];
        new Random(seed).nextBytes(k);
        return k;
    }

    private static ControlCipher cipher(byte[] key) {
        return new ControlCipher(new CipherState(key, NonceEncoding.BIG_ENDIAN));
    }

    /** One side of a connection: it seals with K1 and opens K2, the other the opposite. */
    private static EmbeddedChannel side(boolean first) {
        return side(first, false);
    }

    /** @param pooled the codec seals and opens into the channel allocator's buffers (a server's) */
    private static EmbeddedChannel side(boolean first, boolean pooled) {
        return new EmbeddedChannel(first ? new NoiseRecordCodec(cipher(K2), cipher(K1), pooled)
                : new NoiseRecordCodec(cipher(K1), cipher(K2), pooled));
    }

    private static byte[] random(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Everything the channel has written, in order. */
    private static byte[] wire(EmbeddedChannel ch) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
            byte[] a = new byte[b.readableBytes()];
            b.readBytes(a);
            b.release();
            out.writeBytes(a);
        }
        return out.toByteArray();
    }

    /** The records' ciphertext lengths, checking each header's type. */
    private static List<Integer> records(byte[] wire) {
        List<Integer> lens = new ArrayList<>();
        for (int at = 0; at < wire.length; ) {
            assertThat(wire[at]).as("record type at %d", at).isEqualTo((byte) ControlMessages.TYPE_RECORD);
            int len = (wire[at + 1] & 0xff) << 8 | wire[at + 2] & 0xff;
            lens.add(len);
            at += ControlMessages.HEADER_LEN + len;
            assertThat(at).isLessThanOrEqualTo(wire.length);
        }
        return lens;
    }

    /** The plaintext the other side reads from {@code wire}, fed in pieces of the given sizes (cycled). */
    private static byte[] read(byte[] wire, int... pieces) {
        return read(wire, false, pieces);
    }

    private static byte[] read(byte[] wire, boolean pooled, int... pieces) {
        EmbeddedChannel other = side(false, pooled);
        int at = 0;
        for (int i = 0; at < wire.length; i++) {
            int n = Math.min(pieces[i % pieces.length], wire.length - at);
            other.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(wire, at, at + n)));
            at += n;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuf b; (b = other.readInbound()) != null; ) {
            byte[] a = new byte[b.readableBytes()];
            b.readBytes(a);
            b.release();
            out.writeBytes(a);
        }
        assertThat(other.isOpen()).as("a good stream keeps the connection").isTrue();
        return out.toByteArray();
    }

    @ParameterizedTest(name = "pooled buffers: {0}")
    @ValueSource(booleans = {false, true})
    void writesOfAnySizeBecomeFullRecordsAtExactBoundaries(boolean pooled) {
        // Each row: the sizes written before one flush (an HTTP/2 DATA frame is a 9-byte header, then its payload).
        int[][] rows = {
                {1}, {FULL - 1}, {FULL}, {FULL + 1}, {2 * FULL}, {2 * FULL + 1},
                {9, 16384}, {9, 16384, 9, 16384, 9, 1}, {9, FULL - 9}, {9, FULL - 9, 9},
                {NoiseRecordCodec.RECORDS_PER_WRITE * FULL}, {NoiseRecordCodec.RECORDS_PER_WRITE * FULL + 1},
                {0, 5, 0}, {1 << 20},
        };
        for (int[] row : rows) {
            EmbeddedChannel ch = side(true, pooled);
            ByteArrayOutputStream sent = new ByteArrayOutputStream();
            List<ChannelFuture> writes = new ArrayList<>();
            int seed = 0;
            for (int n : row) {
                byte[] b = random(n, seed++);
                sent.writeBytes(b);
                writes.add(ch.write(Unpooled.wrappedBuffer(b)));
            }
            assertThat(ch.outboundMessages()).as("nothing leaves before the flush").isEmpty();
            ch.flush();
            assertThat(writes).as("every write is done after the flush").allMatch(f -> f.isDone() && f.isSuccess());

            byte[] wire = wire(ch);
            int total = sent.size();
            List<Integer> lens = records(wire);
            int expected = Math.max(1, (total + FULL - 1) / FULL);
            String what = Arrays.toString(row);
            assertThat(lens).as("%s: records", what).hasSize(total == 0 ? 0 : expected);
            for (int i = 0; i < lens.size() - 1; i++) {
                assertThat(lens.get(i)).as("%s: record %d is full (4,096 bytes on the wire)", what, i)
                        .isEqualTo(ControlMessages.MAX_CIPHERTEXT_LEN);
            }
            if (!lens.isEmpty()) {
                assertThat(lens.getLast()).as("%s: the last record", what)
                        .isEqualTo(total - (lens.size() - 1) * FULL + ControlMessages.TAG_LEN);
            }
            assertThat(read(wire, pooled, 4096)).as("%s: read back", what).isEqualTo(sent.toByteArray());
            ch.finishAndReleaseAll();
        }
    }

    @ParameterizedTest(name = "pooled buffers: {0}")
    @ValueSource(booleans = {false, true})
    void aMegabyteMapReadsBackByteIdenticalHoweverTheSocketCutsIt(boolean pooled) {
        byte[] map = random(1_450_000, 42);
        EmbeddedChannel ch = side(true, pooled);
        // As HTTP/2 writes it: 9-byte frame headers and 16 KiB payloads, several flushes.
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        for (int at = 0, i = 0; at < map.length; i++) {
            int n = Math.min(16384, map.length - at);
            byte[] header = random(9, i);
            sent.writeBytes(header);
            sent.write(map, at, n);
            ch.write(Unpooled.wrappedBuffer(header));
            ch.write(Unpooled.wrappedBuffer(map, at, n));
            at += n;
            if (i % 4 == 3) ch.flush();
        }
        ch.flush();
        byte[] wire = wire(ch);
        for (int len : records(wire)) assertThat(len).isLessThanOrEqualTo(ControlMessages.MAX_CIPHERTEXT_LEN);
        // Pieces that end inside headers, exactly on record boundaries, and across several records.
        for (int[] pieces : new int[][] {{1}, {3}, {4096}, {4095, 1}, {4097}, {65536}, {7, 8191, 3, 100000}}) {
            if (pieces[0] == 1 && pieces.length == 1) {
                byte[] head = Arrays.copyOf(wire, 3 * 4096); // byte by byte: the first three records only
                assertThat(read(head, pooled, 1)).isEqualTo(Arrays.copyOf(sent.toByteArray(), 3 * FULL));
                continue;
            }
            assertThat(read(wire, pooled, pieces)).as("pieces %s", Arrays.toString(pieces)).isEqualTo(sent.toByteArray());
        }
        ch.finishAndReleaseAll();
    }

    @Test
    void aBadRecordClosesTheConnection() {
        byte[] good = cipher(K1).sealRecord(new byte[] {1, 2, 3}, 0, 3);
        byte[] badType = good.clone();
        badType[0] = 0x02;
        byte[] tooLong = {ControlMessages.TYPE_RECORD, (byte) 0x10, 0x00}; // 4,096 > 4,093
        byte[] tooShort = {ControlMessages.TYPE_RECORD, 0, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        byte[] tampered = good.clone();
        tampered[4] ^= 1;
        for (byte[] bad : List.of(badType, tooLong, tooShort, tampered)) {
            EmbeddedChannel other = side(false);
            other.writeInbound(Unpooled.wrappedBuffer(bad));
            assertThat(other.isOpen()).as("after %s", Arrays.toString(Arrays.copyOf(bad, 3))).isFalse();
            assertThat((Object) other.readInbound()).isNull();
        }
    }

    @Test
    void bytesWrittenButNotFlushedFailWhenTheChannelCloses() {
        EmbeddedChannel ch = side(true);
        ChannelFuture w = ch.write(Unpooled.wrappedBuffer(new byte[100]));
        ch.close();
        assertThat(w.isDone()).isTrue();
        assertThat(w.isSuccess()).isFalse();
    }
}
