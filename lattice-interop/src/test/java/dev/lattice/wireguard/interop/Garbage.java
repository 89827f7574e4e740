package dev.lattice.wireguard.interop;

import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Malformed UDP datagrams for a WireGuard listen port: random bytes of random lengths, and messages that start
 * like real ones (type 1 initiation 148 B, 2 response 92 B, 3 cookie reply 64 B, 4 transport >= 32 B) but are
 * truncated, padded, or carry random content.
 */
final class Garbage {
    private static final int[] SIZES = {0, 148, 92, 64, 32};

    private Garbage() {}

    static List<byte[]> datagrams(long seed) {
        Random r = new Random(seed);
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            out.add(random(r, 1 + r.nextInt(1400)));
        }
        for (int type = 1; type <= 4; type++) {
            int size = SIZES[type];
            List<Integer> lengths = new ArrayList<>(List.of(1, 2, 3, 4, 5, 8, 16, size - 1, size, size, size, size + 1,
                    size + 16));
            if (type == 4) {
                lengths.addAll(List.of(33, 48, 64, 128, 1000, 1452, 1500));
            }
            for (int i = 0; i < 12; i++) {
                lengths.add(1 + r.nextInt(size + 64));
            }
            for (int len : lengths) {
                byte[] d = random(r, len);
                d[0] = (byte) type;
                for (int k = 1; k < Math.min(4, len); k++) {
                    d[k] = 0; // correct reserved bytes
                }
                out.add(d);
            }
            byte[] reserved = random(r, size);
            reserved[0] = (byte) type;
            reserved[1] = (byte) 0xff;
            out.add(reserved);
            if (type == 4) {
                for (int idx = 0; idx < 8; idx++) { // small receiver indices, counter 0
                    byte[] d = random(r, 32 + 16 * idx);
                    d[0] = 4;
                    d[1] = d[2] = d[3] = 0;
                    d[4] = (byte) idx;
                    d[5] = d[6] = d[7] = 0;
                    for (int k = 8; k < 16; k++) {
                        d[k] = 0;
                    }
                    out.add(d);
                }
            }
        }
        for (int t : new int[] {0, 5, 0x7f, 0x80, 0xff}) {
            byte[] d = random(r, 148);
            d[0] = (byte) t;
            out.add(d);
        }
        for (int big : new int[] {4000, 9000, 30000, 65000}) {
            out.add(random(r, big));
        }
        return out;
    }

    private static byte[] random(Random r, int len) {
        byte[] b = new byte[len];
        r.nextBytes(b);
        return b;
    }

    /**
     * Sends every datagram, one UDP socket each, from {@code from}'s namespace to {@code address:port}
     * (bash's /dev/udp; one write per datagram). Returns bash's result; individual send errors are ignored.
     */
    static ExecResult send(Host from, Path dir, List<byte[]> datagrams, String address, int port) {
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < datagrams.size(); i++) {
                Files.write(dir.resolve("d%04d".formatted(i)), datagrams.get(i));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String script = "for f in '" + dir + "'/d*; do cat \"$f\" > '/dev/udp/" + address + "/" + port
                + "' 2>/dev/null || true; done";
        return from.exec(Duration.ofSeconds(60), "bash", "-c", script);
    }
}
