package dev.lattice.wire.disco;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code disco/go-vectors.txt}, written by tailscale v1.102.3's Go code (see the README beside it). */
final class GoVectors {
    final Map<String, byte[]> messages = new LinkedHashMap<>();
    final Map<String, byte[]> keys = new LinkedHashMap<>();
    final Map<String, byte[]> packets = new LinkedHashMap<>();
    /** input, then Go's re-marshalled result or null when Go returned an error. */
    final List<byte[][]> parses = new ArrayList<>();

    private static GoVectors instance;

    static synchronized GoVectors load() {
        if (instance == null) instance = read();
        return instance;
    }

    private static GoVectors read() {
        GoVectors v = new GoVectors();
        try (InputStream in = GoVectors.class.getResourceAsStream("/disco/go-vectors.txt")) {
            if (in == null) throw new IllegalStateException("disco/go-vectors.txt missing");
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "msg" -> v.messages.put(f[1], hex(f[2]));
                    case "key" -> v.keys.put(f[1], hex(f[2]));
                    case "packet" -> v.packets.put(f[1], hex(f[2]));
                    case "parse" -> v.parses.add(new byte[][] {hex(f[1]), f[2].equals("ok") ? hex(f[3]) : null});
                    default -> throw new IllegalStateException("bad vector line " + line);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return v;
    }

    static byte[] hex(String s) {
        return s.equals("-") ? new byte[0] : HexFormat.of().parseHex(s);
    }

    static byte[] filled(int v, int n) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) v);
        return b;
    }

    static byte[] seq(int start, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (start + i);
        return b;
    }

    private GoVectors() {}
}
