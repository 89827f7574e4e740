package dev.lattice.bench.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.wire.ts2021.MapStreamFraming;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The load generator finds zstd frame boundaries without decompressing, and counts a framed map's peers right. */
class ZstdFramesTest {
    @Test
    void framesOfEveryKindEndWhereTheNextBegins() {
        Random rnd = new Random(1);
        List<byte[]> frames = new ArrayList<>();
        // Compressible text, random bytes (raw blocks), one repeated byte (RLE), empty input, and > 128 KiB (several blocks).
        frames.add(MapStreamFraming.compress("{\"StableID\":\"a\"},{\"StableID\":\"b\"}".repeat(50).getBytes(StandardCharsets.UTF_8)));
        byte[] noise = new byte[5000];
        rnd.nextBytes(noise);
        frames.add(MapStreamFraming.compress(noise));
        frames.add(MapStreamFraming.compress(new byte[3000]));
        frames.add(MapStreamFraming.compress(new byte[0]));
        byte[] big = new byte[400_000];
        for (int i = 0; i < big.length; i++) big[i] = (byte) ('a' + rnd.nextInt(4));
        frames.add(MapStreamFraming.compress(big));
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] f : frames) all.writeBytes(f);
        byte[] b = all.toByteArray();
        int at = 0;
        for (byte[] f : frames) {
            int end = ZstdFrames.end(b, at);
            assertThat(end - at).isEqualTo(f.length);
            at = end;
        }
        assertThat(at).isEqualTo(b.length);
    }

    @Test
    void aFramedMapCountsAsItsJson() throws Exception {
        String head = "{\"Node\":{\"StableID\":\"self\"},\"Peers\":[{\"StableID\":\"p0\"}";
        StringBuilder json = new StringBuilder(head);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(MapStreamFraming.compress(head.getBytes(StandardCharsets.UTF_8)));
        for (int run = 0; run < 5; run++) {
            StringBuilder r = new StringBuilder();
            for (int i = 0; i < 16; i++) r.append(",{\"StableID\":\"p").append(run * 16 + i + 1).append("\"}");
            json.append(r);
            body.writeBytes(MapStreamFraming.compress(r.toString().getBytes(StandardCharsets.UTF_8)));
        }
        json.append("]}");
        body.writeBytes(MapStreamFraming.compress("]}".getBytes(StandardCharsets.UTF_8)));
        assertThat(MapStreamFraming.decompress(body.toByteArray())).asString(StandardCharsets.UTF_8).isEqualTo(json.toString());
        assertThat(SimNode.countPeersCompressed(body.toByteArray())).isEqualTo(81)
                .isEqualTo(SimNode.countPeers(json.toString().getBytes(StandardCharsets.UTF_8)));
        // Whole-message compression: one frame.
        assertThat(SimNode.countPeersCompressed(MapStreamFraming.compress(json.toString().getBytes(StandardCharsets.UTF_8))))
                .isEqualTo(81);
    }
}
