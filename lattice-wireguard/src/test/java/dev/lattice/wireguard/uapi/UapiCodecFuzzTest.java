package dev.lattice.wireguard.uapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import dev.lattice.wire.ip.IpPrefix;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Seeded property tests: garbage only ever produces {@link UapiException}; whatever the codec writes it reads back
 * unchanged. A failure message names the seed and the case; rerun with that seed to reproduce.
 */
class UapiCodecFuzzTest {
    static final long SEED = 0x1a771ce_5eedL;
    static final String[] KEYS = {"private_key", "listen_port", "fwmark", "replace_peers", "public_key",
            "update_only", "remove", "preshared_key", "endpoint", "persistent_keepalive_interval",
            "replace_allowed_ips", "allowed_ip", "protocol_version", "errno", "get", "set", "", "x"};

    @Test
    void garbageLinesOnlyEverYieldUapiException() {
        Random r = new Random(SEED);
        int rejected = 0;
        for (int i = 0; i < 20_000; i++) {
            List<String> lines = new ArrayList<>();
            int n = 1 + r.nextInt(12);
            for (int j = 0; j < n; j++) lines.add(garbageLine(r));
            try {
                UapiSet set = UapiCodec.parseSet(lines);
                assertThat(UapiCodec.parseSet(UapiCodec.formatSet(set).lines().toList()))
                        .as("seed %x case %d: %s", SEED, i, lines).isEqualTo(set);
            } catch (UapiException e) {
                rejected++;
                assertThat(e.errno()).isIn(-22, -71);
                assertThat(e.getMessage()).isNotBlank();
            } catch (RuntimeException e) {
                throw new AssertionError("seed %x case %d: %s threw %s".formatted(SEED, i, lines, e), e);
            }
        }
        assertThat(rejected).as("the generator must also produce rejected input").isBetween(1000, 19_999);
    }

    @Test
    void garbageGetRepliesOnlyEverYieldUapiException() {
        Random r = new Random(SEED + 1);
        for (int i = 0; i < 20_000; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + r.nextInt(12);
            for (int j = 0; j < n; j++) sb.append(garbageLine(r)).append('\n');
            try {
                UapiCodec.parseGet(sb.toString());
            } catch (UapiException e) {
                assertThat(e.getMessage()).isNotBlank();
            } catch (RuntimeException e) {
                throw new AssertionError("seed %x case %d: %s threw %s".formatted(SEED + 1, i, sb, e), e);
            }
        }
    }

    @Test
    void everySetTheCodecWritesItReadsBackUnchanged() throws UapiException {
        Random r = new Random(SEED + 2);
        for (int i = 0; i < 2_000; i++) {
            UapiSet set = randomSet(r);
            String text = UapiCodec.formatSet(set);
            assertThat(UapiCodec.parseSet(text.lines().toList())).as("seed %x case %d:\n%s", SEED + 2, i, text)
                    .isEqualTo(set);
        }
    }

    @Test
    void everyStateTheCodecWritesItReadsBackUnchanged() throws UapiException {
        Random r = new Random(SEED + 3);
        for (int i = 0; i < 2_000; i++) {
            DeviceState s = randomState(r);
            String text = UapiCodec.formatGet(s);
            DeviceState back = UapiCodec.parseGet(text);
            assertThat(UapiCodec.formatGet(back)).as("seed %x case %d", SEED + 3, i).isEqualTo(text);
            assertThat(back).isEqualTo(s);
        }
    }

    // ---------------------------------------------------------------- generators

    static String garbageLine(Random r) {
        return switch (r.nextInt(8)) {
            case 0 -> randomBytes(r, r.nextInt(80)); // random bytes, mostly no '='
            case 1 -> KEYS[r.nextInt(KEYS.length)]; // missing '='
            case 2 -> KEYS[r.nextInt(KEYS.length)] + "=" + hugeNumber(r);
            case 3 -> KEYS[r.nextInt(KEYS.length)] + "=" + randomBytes(r, r.nextInt(70));
            case 4 -> KEYS[r.nextInt(KEYS.length)] + "=" + mutate(r, plausibleValue(r));
            case 5 -> "public_key=" + randomHex(r, 32);
            case 6 -> KEYS[r.nextInt(KEYS.length)] + "=" + plausibleValue(r);
            default -> r.nextBoolean() ? "" : "=" + randomBytes(r, 5);
        };
    }

    static String plausibleValue(Random r) {
        return switch (r.nextInt(9)) {
            case 0 -> randomHex(r, 32);
            case 1 -> "0".repeat(64);
            case 2 -> Integer.toString(r.nextInt(70_000));
            case 3 -> "true";
            case 4 -> "1";
            case 5 -> (r.nextInt(300)) + "." + r.nextInt(300) + "." + r.nextInt(300) + "." + r.nextInt(300)
                    + (r.nextBoolean() ? ":" + r.nextInt(70_000) : "/" + r.nextInt(40));
            case 6 -> "[" + Integer.toHexString(r.nextInt(0x10000)) + "::" + Integer.toHexString(r.nextInt(0x10000))
                    + "]:" + r.nextInt(70_000);
            case 7 -> (r.nextBoolean() ? "-" : "") + Integer.toHexString(r.nextInt(0x10000)) + ":"
                    + (r.nextBoolean() ? ":" : "") + Integer.toHexString(r.nextInt(0x100000)) + "/" + r.nextInt(140);
            default -> "::ffff:" + r.nextInt(256) + "." + r.nextInt(256) + ".0.0/" + r.nextInt(130);
        };
    }

    static String mutate(Random r, String s) {
        if (s.isEmpty()) return s;
        StringBuilder sb = new StringBuilder(s);
        int edits = 1 + r.nextInt(3);
        for (int i = 0; i < edits && !sb.isEmpty(); i++) {
            int at = r.nextInt(sb.length());
            switch (r.nextInt(3)) {
                case 0 -> sb.deleteCharAt(at);
                case 1 -> sb.insert(at, ":.[]%/-+0x9fG\u0000\u00ff".charAt(r.nextInt(15)));
                default -> sb.setCharAt(at, (char) r.nextInt(256));
            }
        }
        return sb.toString();
    }

    static String hugeNumber(Random r) {
        StringBuilder sb = new StringBuilder(r.nextBoolean() ? "-" : "");
        int digits = 10 + r.nextInt(400);
        for (int i = 0; i < digits; i++) sb.append((char) ('0' + r.nextInt(10)));
        return sb.toString();
    }

    static String randomBytes(Random r, int n) {
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            char c = (char) r.nextInt(256);
            sb.append(c == '\n' ? 'n' : c); // lines never contain '\n'
        }
        return sb.toString();
    }

    static String randomHex(Random r, int bytes) {
        byte[] b = new byte[bytes];
        r.nextBytes(b);
        return java.util.HexFormat.of().formatHex(b);
    }

    static NodePublicKey randomPublicKey(Random r) {
        byte[] b = new byte[32];
        r.nextBytes(b);
        return new NodePublicKey(b);
    }

    static InetSocketAddress randomEndpoint(Random r) {
        byte[] a = new byte[r.nextBoolean() ? 4 : 16];
        r.nextBytes(a);
        if (a.length == 16 && r.nextInt(4) == 0) { // IPv4-mapped
            java.util.Arrays.fill(a, 0, 10, (byte) 0);
            a[10] = a[11] = (byte) 0xff;
        }
        return new InetSocketAddress(Netip.toInetAddress(a, -1), r.nextInt(65_536));
    }

    static IpPrefix randomPrefix(Random r) {
        InetSocketAddress e = randomEndpoint(r);
        int bits = r.nextInt(e.getAddress().getAddress().length * 8 + 1);
        return Netip.parsePrefix(Netip.format(e.getAddress()) + "/" + bits);
    }

    static UapiSet randomSet(Random r) {
        PrivateKeyChange pk = switch (r.nextInt(3)) {
            case 0 -> null;
            case 1 -> PrivateKeyChange.CLEAR;
            default -> new PrivateKeyChange.Replace(NodePrivateKey.generate());
        };
        List<PeerChange> peers = new ArrayList<>();
        int n = r.nextInt(5);
        for (int i = 0; i < n; i++) {
            NodePublicKey key = randomPublicKey(r);
            if (r.nextInt(5) == 0) {
                peers.add(PeerChange.removal(key));
                continue;
            }
            List<AllowedIpChange> ips = new ArrayList<>();
            int m = r.nextInt(5);
            for (int j = 0; j < m; j++) {
                IpPrefix p = randomPrefix(r);
                ips.add(r.nextInt(4) == 0 ? new AllowedIpChange.Remove(p) : new AllowedIpChange.Add(p));
            }
            byte[] psk = new byte[32];
            r.nextBytes(psk);
            peers.add(new PeerChange(key, r.nextBoolean(), false,
                    r.nextBoolean() ? null : r.nextBoolean() ? PresharedKey.NONE : new PresharedKey(psk),
                    r.nextBoolean() ? null : randomEndpoint(r),
                    r.nextBoolean() ? null : r.nextInt(65_536),
                    r.nextBoolean(), ips));
        }
        return new UapiSet(pk, r.nextBoolean() ? null : r.nextInt(65_536), r.nextBoolean() ? null : r.nextInt(),
                r.nextBoolean(), peers);
    }

    static DeviceState randomState(Random r) {
        List<PeerState> peers = new ArrayList<>();
        int n = r.nextInt(5);
        for (int i = 0; i < n; i++) {
            List<IpPrefix> ips = new ArrayList<>();
            int m = r.nextInt(5);
            for (int j = 0; j < m; j++) ips.add(randomPrefix(r));
            byte[] psk = new byte[32];
            r.nextBytes(psk);
            peers.add(new PeerState(randomPublicKey(r), r.nextBoolean() ? null : new PresharedKey(psk),
                    r.nextBoolean() ? null : randomEndpoint(r), r.nextBoolean() ? 0 : r.nextLong(Long.MAX_VALUE),
                    r.nextLong(), r.nextLong(), r.nextInt(65_536), ips));
        }
        return new DeviceState(r.nextBoolean() ? null : NodePrivateKey.generate(), r.nextInt(65_536), r.nextInt(),
                peers);
    }
}
