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
 * Parses a {@code set=1} transaction one line at a time, exactly as wireguard-go's {@code IpcSetOperation} reads
 * it, and keeps every line accepted so far: when a line is bad, {@link #result()} is what wireguard-go would
 * already have applied. A rejected line leaves the parser unchanged. Not thread-safe; one per transaction.
 */
final class SetParser {
    private int lineNumber;
    private boolean ended;

    private PrivateKeyChange privateKey;
    private Integer listenPort;
    private Integer fwmark;
    private boolean replacePeers;
    private final List<PeerChange> peers = new ArrayList<>();
    private PeerBlock peer; // null while still in the device section

    /**
     * Takes one line without its {@code '\n'}; a trailing {@code '\r'} is dropped, as Go's line scanner does.
     *
     * @return false if the line was the blank line that ends the transaction; further lines are then ignored
     * @throws UapiException if the line is invalid; the lines before it stay in {@link #result()}
     */
    boolean accept(String line) throws UapiException {
        if (ended) return false;
        lineNumber++;
        if (!line.isEmpty() && line.charAt(line.length() - 1) == '\r') line = line.substring(0, line.length() - 1);
        if (line.isEmpty()) {
            ended = true;
            return false;
        }
        int eq = line.indexOf('=');
        if (eq < 0) throw error(UapiError.PROTOCOL, "failed to parse line " + quote(line) + ": no '='");
        String key = line.substring(0, eq);
        String value = line.substring(eq + 1);
        if (key.equals("public_key")) {
            NodePublicKey pub = parseKey(value, "public_key", NodePublicKey::fromHex);
            finishPeer();
            peer = new PeerBlock(pub);
        } else if (peer == null) {
            deviceLine(key, value);
        } else {
            peerLine(key, value);
        }
        return true;
    }

    /** Everything accepted so far, as one transaction. */
    UapiSet result() {
        List<PeerChange> all = new ArrayList<>(peers);
        if (peer != null) all.add(peer.toChange());
        return new UapiSet(privateKey, listenPort, fwmark, replacePeers, all);
    }

    private void finishPeer() {
        if (peer != null) peers.add(peer.toChange());
        peer = null;
    }

    private void deviceLine(String key, String value) throws UapiException {
        switch (key) {
            case "private_key" -> {
                NodePrivateKey sk = parseKey(value, "private_key", NodePrivateKey::fromHex);
                privateKey = sk.isZero() ? PrivateKeyChange.CLEAR : new PrivateKeyChange.Replace(clamp(sk));
            }
            case "listen_port" -> {
                long port = Netip.parseUint(value, 0xffff);
                if (port < 0) throw invalid("failed to parse listen_port " + quote(value) + ": want 0..65535");
                listenPort = (int) port;
            }
            case "fwmark" -> {
                long mark = Netip.parseUint(value, 0xffff_ffffL);
                if (mark < 0) throw invalid("invalid fwmark " + quote(value) + ": want 0..4294967295");
                fwmark = (int) mark;
            }
            case "replace_peers" -> {
                requireTrue(key, value);
                replacePeers = true;
            }
            default -> throw invalid("invalid UAPI device key: " + quote(key));
        }
    }

    private void peerLine(String key, String value) throws UapiException {
        PeerBlock p = peer;
        switch (key) {
            case "update_only" -> {
                requireTrue(key, value);
                if (!p.removed) p.updateOnly = true;
            }
            case "remove" -> {
                requireTrue(key, value);
                p.markRemoved();
            }
            case "preshared_key" -> {
                PresharedKey psk = parseKey(value, "preshared_key for " + p, PresharedKey::fromHex);
                if (!p.removed) p.presharedKey = psk;
            }
            case "endpoint" -> {
                InetSocketAddress endpoint;
                try {
                    endpoint = Netip.parseAddrPort(value);
                } catch (IllegalArgumentException e) {
                    throw invalid("invalid endpoint " + quote(value) + " for " + p + ": " + e.getMessage());
                }
                if (!p.removed) p.endpoint = endpoint;
            }
            case "persistent_keepalive_interval" -> {
                long secs = Netip.parseUint(value, 0xffff);
                if (secs < 0) {
                    throw invalid("invalid persistent_keepalive_interval " + quote(value) + " for " + p
                            + ": want 0..65535");
                }
                if (!p.removed) p.persistentKeepalive = (int) secs;
            }
            case "replace_allowed_ips" -> {
                requireTrue(key, value);
                if (!p.removed) {
                    p.replaceAllowedIps = true;
                    p.allowedIps.clear();
                }
            }
            case "allowed_ip" -> {
                boolean remove = !value.isEmpty() && value.charAt(0) == '-';
                String text = remove ? value.substring(1) : value;
                IpPrefix prefix;
                try {
                    prefix = Netip.parsePrefix(text);
                } catch (IllegalArgumentException e) {
                    throw invalid("invalid allowed_ip " + quote(value) + " for " + p + ": " + e.getMessage());
                }
                if (!p.removed) {
                    p.allowedIps.add(remove ? new AllowedIpChange.Remove(prefix) : new AllowedIpChange.Add(prefix));
                }
            }
            case "protocol_version" -> {
                if (!value.equals("1")) throw invalid("invalid protocol version " + quote(value) + ": only 1 exists");
            }
            default -> throw invalid("invalid UAPI peer key: " + quote(key));
        }
    }

    private void requireTrue(String key, String value) throws UapiException {
        if (!value.equals("true")) throw invalid("invalid value for " + key + ": " + quote(value) + ", want \"true\"");
    }

    private interface HexParser<T> {
        T parse(String hex);
    }

    /** Parses a 64-hex-digit key. The value never appears in the message: it may be secret. */
    private <T> T parseKey(String value, String what, HexParser<T> parser) throws UapiException {
        try {
            return parser.parse(value);
        } catch (IllegalArgumentException e) {
            throw invalid("invalid " + what + ": want 64 hex digits, got " + value.length() + " characters");
        }
    }

    private static NodePrivateKey clamp(NodePrivateKey key) {
        byte[] k = key.raw();
        k[0] &= (byte) 248;
        k[31] = (byte) ((k[31] & 127) | 64);
        return new NodePrivateKey(k);
    }

    private UapiException invalid(String message) {
        return error(UapiError.INVALID, message);
    }

    private UapiException error(UapiError code, String message) {
        return new UapiException(code, "line " + lineNumber + ": " + message);
    }

    /** The peer block being read; fields mirror {@link PeerChange}. */
    private static final class PeerBlock {
        final NodePublicKey publicKey;
        boolean updateOnly;
        boolean removed;
        PresharedKey presharedKey;
        InetSocketAddress endpoint;
        Integer persistentKeepalive;
        boolean replaceAllowedIps;
        final List<AllowedIpChange> allowedIps = new ArrayList<>();

        PeerBlock(NodePublicKey publicKey) {
            this.publicKey = publicKey;
        }

        /** After {@code remove=true} the block is only a removal; later lines are validated, then ignored. */
        void markRemoved() {
            removed = true;
            updateOnly = false;
            presharedKey = null;
            endpoint = null;
            persistentKeepalive = null;
            replaceAllowedIps = false;
            allowedIps.clear();
        }

        PeerChange toChange() {
            return removed
                    ? PeerChange.removal(publicKey)
                    : new PeerChange(publicKey, updateOnly, false, presharedKey, endpoint, persistentKeepalive,
                            replaceAllowedIps, allowedIps);
        }

        /** wireguard-go's {@code Peer.String()}: {@code peer(AbCd…wxyz)} from the base64 key. */
        @Override
        public String toString() {
            String b64 = publicKey.toBase64();
            return "peer(" + b64.substring(0, 4) + "…" + b64.substring(39, 43) + ")";
        }
    }
}
