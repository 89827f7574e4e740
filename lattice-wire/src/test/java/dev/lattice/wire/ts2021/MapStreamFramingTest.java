package dev.lattice.wire.ts2021;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Map messages on the wire: a little-endian length, then the body, zstd-compressed (one or more frames) when the client asked. */
class MapStreamFramingTest {
    @Test
    void aCompressedMessageComesBackWhole() throws Exception {
        StringBuilder json = new StringBuilder("{\"Peers\":[");
        for (int i = 0; i < 2000; i++) json.append("{\"ID\":").append(i).append(",\"Name\":\"node-").append(i).append(".ts.net.\"},");
        byte[] in = json.append("{}]}").toString().getBytes(StandardCharsets.UTF_8);
        byte[] framed = MapStreamFraming.frame(in, true);
        int len = MapStreamFraming.length(framed, 0);
        assertThat(len).isEqualTo(framed.length - 4).isLessThan(in.length / 4);
        assertThat(MapStreamFraming.decompress(java.util.Arrays.copyOfRange(framed, 4, framed.length))).isEqualTo(in);
    }
    @Test
    void aFrameMadeWithoutTheNativeLibraryIsAnOrdinaryFrame() throws Exception {
        StringBuilder json = new StringBuilder("{\"Peers\":[");
        for (int i = 0; i < 500; i++) json.append("{\"ID\":").append(i).append("},");
        byte[] in = json.append("{}]}").toString().getBytes(StandardCharsets.UTF_8);
        byte[] framed = MapStreamFraming.frameWithoutNative(in);
        assertThat(MapStreamFraming.length(framed, 0)).isEqualTo(framed.length - 4).isLessThan(in.length / 4);
        byte[] body = java.util.Arrays.copyOfRange(framed, 4, framed.length);
        assertThat(MapStreamFraming.decompress(body)).isEqualTo(in);
        // and what the native encoder makes decodes with it as a frame of its own among them
        byte[] both = concat(List.of(body, MapStreamFraming.compress(in)));
        assertThat(MapStreamFraming.decompress(both)).isEqualTo(concat(List.of(in, in)));
        byte[] skippable = {0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 7, 7, 7}; // RFC 8878 3.1.2: ignored by decoders
        assertThat(MapStreamFraming.decompress(concat(List.of(body, skippable, body)))).isEqualTo(concat(List.of(in, in)));
    }

    @Test
    void aBodyOfOneFrameDecompressesAsBefore() throws Exception {
        byte[] json = "{\"Node\":{\"ID\":1},\"Peers\":[]}".getBytes(StandardCharsets.UTF_8);
        assertThat(MapStreamFraming.decompress(MapStreamFraming.compress(json))).isEqualTo(json);
    }

    @Test
    void concatenatedFramesDecompressToTheConcatenatedJson() throws Exception {
        byte[] a = "{\"Peers\":[{\"ID\":1}".getBytes(StandardCharsets.UTF_8);
        byte[] b = ",{\"ID\":2}".getBytes(StandardCharsets.UTF_8);
        byte[] c = "]}".getBytes(StandardCharsets.UTF_8);
        byte[] body = concat(List.of(MapStreamFraming.compress(a), MapStreamFraming.compress(b), MapStreamFraming.compress(c)));
        assertThat(new String(MapStreamFraming.decompress(body), StandardCharsets.UTF_8))
                .isEqualTo("{\"Peers\":[{\"ID\":1},{\"ID\":2}]}");
    }

    /** Property: for any pieces (empty, tiny, compressible, random, large), decompress(concat(frames)) == concat(pieces). */
    @Test
    void decompressOfConcatenatedFramesIsTheConcatenationForAnyPieces() throws Exception {
        Random rnd = new Random(20261205);
        for (int trial = 0; trial < 200; trial++) {
            int count = 1 + rnd.nextInt(trial < 190 ? 12 : 200);
            List<byte[]> pieces = new ArrayList<>();
            List<byte[]> frames = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                byte[] p = piece(rnd);
                pieces.add(p);
                frames.add(MapStreamFraming.compress(p));
            }
            assertThat(MapStreamFraming.decompress(concat(frames))).as("trial %d, %d frames", trial, count)
                    .isEqualTo(concat(pieces));
        }
    }

    @Test
    void aTruncatedOrCorruptBodyIsAProtocolError() {
        byte[] body = concat(List.of(MapStreamFraming.compress("{\"a\":1".getBytes(StandardCharsets.UTF_8)),
                MapStreamFraming.compress(",\"b\":2}".getBytes(StandardCharsets.UTF_8))));
        assertThatThrownBy(() -> MapStreamFraming.decompress(java.util.Arrays.copyOf(body, body.length - 3)))
                .isInstanceOf(ControlProtocolException.class);
        assertThatThrownBy(() -> MapStreamFraming.decompress(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}))
                .isInstanceOf(ControlProtocolException.class);
    }

    private static byte[] piece(Random rnd) {
        return switch (rnd.nextInt(5)) {
            case 0 -> new byte[0];
            case 1 -> new byte[] {(byte) ','};
            case 2 -> (",{\"ID\":" + rnd.nextInt() + ",\"Name\":\"n.example.ts.net.\",\"Online\":true}").repeat(1 + rnd.nextInt(40))
                    .getBytes(StandardCharsets.UTF_8);
            case 3 -> {
                byte[] b = new byte[rnd.nextInt(3000)];
                rnd.nextBytes(b);
                yield b;
            }
            default -> "x".repeat(rnd.nextInt(200_000)).getBytes(StandardCharsets.UTF_8);
        };
    }

    private static byte[] concat(List<byte[]> parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        parts.forEach(out::writeBytes);
        return out.toByteArray();
    }
}
