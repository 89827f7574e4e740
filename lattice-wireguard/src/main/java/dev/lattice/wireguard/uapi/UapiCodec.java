package dev.lattice.wireguard.uapi;

import static dev.lattice.wireguard.uapi.Netip.quote;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import dev.lattice.wire.ip.IpPrefix;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The text of WireGuard's cross-platform configuration protocol (https://www.wireguard.com/xplatform/), byte for
 * byte as wireguard-go ({@code device/uapi.go}) reads and writes it. Pure: no I/O, no name lookups.
 *
 * <p>Deliberate differences from wireguard-go:
 * <ul>
 *   <li>An IPv6 endpoint zone ({@code [fe80::1%eth0]:51820}, as {@code wg} sends link-local endpoints) must be a
 *       number or the name of a local interface, since an {@link InetSocketAddress} holds it as a scope id; unknown
 *       names are rejected with {@link UapiError#INVALID} (wireguard-go 0.0.20220316 does the same; current
 *       wireguard-go accepts any zone text). {@code get} prints the interface's name.
 *   <li>{@code allowed_ip} lines before {@code replace_allowed_ips=true} or {@code remove=true} in the same peer
 *       block are dropped. wireguard-go inserts them and then deletes them again, which has one visible side
 *       effect: a prefix that belonged to another peer ends up belonging to no peer. No tool writes such blocks.
 * </ul>
 */
public final class UapiCodec {
    private static final String ZERO_KEY = "0".repeat(64);

    private UapiCodec() {}

    /**
     * Parses the lines of a {@code set=1} transaction (the lines after {@code set=1}, without {@code '\n'}). The
     * first empty line ends the transaction; lines after it are not read. A missing empty line is fine.
     *
     * @throws UapiException for the first bad line, with wireguard-go's errno: {@link UapiError#PROTOCOL} for a
     *                       line without {@code '='}, {@link UapiError#INVALID} for anything else
     */
    public static UapiSet parseSet(List<String> lines) throws UapiException {
        SetParser parser = new SetParser();
        for (String line : lines) {
            if (!parser.accept(line)) break;
        }
        return parser.result();
    }

    /**
     * The lines of a {@code set=1} transaction that {@link #parseSet} reads back as {@code set} (canonical order,
     * as the {@code wg} tool writes them), each ending in {@code '\n'}; without the {@code set=1} line and the final
     * empty line. For clients of another device (wireguard-go, a kernel-less peer).
     */
    public static String formatSet(UapiSet set) {
        StringBuilder sb = new StringBuilder(256);
        switch (set.privateKey()) {
            case null -> { }
            case PrivateKeyChange.Clear c -> line(sb, "private_key", ZERO_KEY);
            case PrivateKeyChange.Replace r -> line(sb, "private_key", r.key().toHex());
        }
        if (set.listenPort() != null) line(sb, "listen_port", set.listenPort().toString());
        if (set.fwmark() != null) line(sb, "fwmark", Integer.toUnsignedString(set.fwmark()));
        if (set.replacePeers()) line(sb, "replace_peers", "true");
        for (PeerChange p : set.peers()) {
            line(sb, "public_key", p.publicKey().toHex());
            if (p.remove()) {
                line(sb, "remove", "true");
                continue;
            }
            if (p.updateOnly()) line(sb, "update_only", "true");
            if (p.presharedKey() != null) line(sb, "preshared_key", p.presharedKey().toHex());
            if (p.endpoint() != null) line(sb, "endpoint", Netip.formatEndpoint(p.endpoint()));
            if (p.persistentKeepaliveSeconds() != null) {
                line(sb, "persistent_keepalive_interval", p.persistentKeepaliveSeconds().toString());
            }
            if (p.replaceAllowedIps()) line(sb, "replace_allowed_ips", "true");
            for (AllowedIpChange c : p.allowedIps()) {
                line(sb, "allowed_ip", (c instanceof AllowedIpChange.Remove ? "-" : "") + Netip.format(c.prefix()));
            }
        }
        return sb.toString();
    }

    /**
     * The body of a {@code get=1} reply, each line ending in {@code '\n'}; the server follows it with
     * {@code errno=0\n\n}. Keys and their order are wireguard-go's: {@code private_key} (only if set),
     * {@code listen_port} (only if non-zero), {@code fwmark} (only if non-zero), then per peer {@code public_key},
     * {@code preshared_key} (always, zeros if none), {@code protocol_version=1}, {@code endpoint} (only if known),
     * {@code last_handshake_time_sec}, {@code last_handshake_time_nsec}, {@code tx_bytes}, {@code rx_bytes},
     * {@code persistent_keepalive_interval}, then one {@code allowed_ip} per prefix.
     */
    public static String formatGet(DeviceState s) {
        StringBuilder sb = new StringBuilder(128 + s.peers().size() * 512);
        if (s.privateKey() != null && !s.privateKey().isZero()) line(sb, "private_key", s.privateKey().toHex());
        if (s.listenPort() != 0) line(sb, "listen_port", Integer.toString(s.listenPort()));
        if (s.fwmark() != 0) line(sb, "fwmark", Integer.toUnsignedString(s.fwmark()));
        for (PeerState p : s.peers()) {
            line(sb, "public_key", p.publicKey().toHex());
            line(sb, "preshared_key", p.presharedKey().toHex());
            line(sb, "protocol_version", "1");
            if (p.endpoint() != null) line(sb, "endpoint", Netip.formatEndpoint(p.endpoint()));
            long nanos = p.lastHandshakeEpochNanos();
            line(sb, "last_handshake_time_sec", Long.toString(nanos / 1_000_000_000L));
            line(sb, "last_handshake_time_nsec", Long.toString(nanos % 1_000_000_000L));
            line(sb, "tx_bytes", Long.toUnsignedString(p.txBytes()));
            line(sb, "rx_bytes", Long.toUnsignedString(p.rxBytes()));
            line(sb, "persistent_keepalive_interval", Integer.toString(p.persistentKeepaliveSeconds()));
            for (IpPrefix prefix : p.allowedIps()) line(sb, "allowed_ip", Netip.format(prefix));
        }
        return sb.toString();
    }

    /**
     * Reads a {@code get=1} reply (as {@link #formatGet} or wireguard-go writes it) back into a state. Reading
     * stops at an empty line; an {@code errno=} line other than {@code errno=0} is thrown as the device's error.
     * Unknown keys are skipped, as the {@code wg} tool skips them.
     *
     * @throws UapiException {@link UapiError#PROTOCOL} when the reply is malformed
     */
    public static DeviceState parseGet(String reply) throws UapiException {
        NodePrivateKey privateKey = null;
        int listenPort = 0;
        int fwmark = 0;
        List<PeerState> peers = new ArrayList<>();
        GetPeer peer = null;
        int lineNumber = 0;
        for (String line : reply.split("\n", -1)) {
            lineNumber++;
            if (line.isEmpty()) break;
            int eq = line.indexOf('=');
            if (eq < 0) throw malformed(lineNumber, "no '=' in " + quote(line));
            String key = line.substring(0, eq);
            String value = line.substring(eq + 1);
            try {
                switch (key) {
                    case "private_key" -> {
                        if (peer != null) throw malformed(lineNumber, "private_key after public_key");
                        privateKey = NodePrivateKey.fromHex(value);
                    }
                    case "listen_port" -> listenPort = (int) uint(value, 0xffff, lineNumber, key);
                    case "fwmark" -> fwmark = (int) uint(value, 0xffff_ffffL, lineNumber, key);
                    case "public_key" -> {
                        if (peer != null) peers.add(peer.build(lineNumber));
                        peer = new GetPeer(NodePublicKey.fromHex(value));
                    }
                    case "errno" -> {
                        long errno;
                        try {
                            errno = Long.parseLong(value);
                        } catch (NumberFormatException e) {
                            throw malformed(lineNumber, "bad errno " + quote(value));
                        }
                        if (errno != 0) throw new UapiException(errorFor(errno), "device replied errno=" + errno);
                    }
                    default -> {
                        if (peer == null) continue;
                        switch (key) {
                            case "preshared_key" -> peer.presharedKey = PresharedKey.fromHex(value);
                            case "endpoint" -> peer.endpoint = Netip.parseAddrPort(value);
                            case "last_handshake_time_sec" -> peer.sec = uint(value, Long.MAX_VALUE, lineNumber, key);
                            case "last_handshake_time_nsec" -> peer.nsec = uint(value, 999_999_999, lineNumber, key);
                            case "tx_bytes" -> peer.tx = uint64(value, lineNumber, key);
                            case "rx_bytes" -> peer.rx = uint64(value, lineNumber, key);
                            case "persistent_keepalive_interval" ->
                                    peer.keepalive = (int) uint(value, 0xffff, lineNumber, key);
                            case "allowed_ip" -> peer.allowedIps.add(Netip.parsePrefix(value));
                            default -> { } // protocol_version and keys from the future
                        }
                    }
                }
            } catch (IllegalArgumentException e) {
                throw malformed(lineNumber, "bad " + key + ": " + e.getMessage());
            }
        }
        if (peer != null) peers.add(peer.build(lineNumber));
        return new DeviceState(privateKey, listenPort, fwmark, peers);
    }

    /** The {@link UapiError} whose errno is {@code errno}, or {@link UapiError#UNKNOWN}. */
    public static UapiError errorFor(long errno) {
        for (UapiError e : UapiError.values()) if (e.errno() == errno) return e;
        return UapiError.UNKNOWN;
    }

    private static void line(StringBuilder sb, String key, String value) {
        sb.append(key).append('=').append(value).append('\n');
    }

    private static long uint(String value, long max, int lineNumber, String key) throws UapiException {
        long v = Netip.parseUint(value, max);
        if (v < 0) throw malformed(lineNumber, "bad " + key + " " + quote(value));
        return v;
    }

    private static long uint64(String value, int lineNumber, String key) throws UapiException {
        Long v = Netip.parseUint64(value);
        if (v == null) throw malformed(lineNumber, "bad " + key + " " + quote(value));
        return v;
    }

    private static UapiException malformed(int lineNumber, String message) {
        return new UapiException(UapiError.PROTOCOL, "malformed get reply, line " + lineNumber + ": " + message);
    }

    private static final class GetPeer {
        final NodePublicKey publicKey;
        PresharedKey presharedKey = PresharedKey.NONE;
        InetSocketAddress endpoint;
        long sec, nsec, rx, tx;
        int keepalive;
        final List<IpPrefix> allowedIps = new ArrayList<>();

        GetPeer(NodePublicKey publicKey) {
            this.publicKey = publicKey;
        }

        PeerState build(int lineNumber) throws UapiException {
            long nanos;
            try {
                nanos = Math.addExact(Math.multiplyExact(sec, 1_000_000_000L), nsec);
            } catch (ArithmeticException e) {
                throw malformed(lineNumber, "last handshake time out of range");
            }
            return new PeerState(publicKey, presharedKey, endpoint, nanos, rx, tx, keepalive, allowedIps);
        }
    }
}
