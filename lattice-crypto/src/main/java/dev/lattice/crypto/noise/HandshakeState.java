package dev.lattice.crypto.noise;

import dev.lattice.crypto.CryptoException;
import dev.lattice.crypto.X25519;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A Noise HandshakeState (spec rev 34 §5.3) for {@code Noise_<pattern>_25519_ChaChaPoly_BLAKE2s}.
 *
 * <p>WireGuard is {@link NoisePattern#IKpsk2} with prologue {@code "WireGuard v1 zx2c4 Jason@zx2c4.com"}, a 12-byte
 * TAI64N timestamp as message 1's payload, an empty message 2 payload and an all-zero psk when none is configured.
 * ts2021 is {@link NoisePattern#IK} with prologue {@code "Tailscale Control Protocol v<capver>"}, empty payloads and
 * {@link NonceEncoding#BIG_ENDIAN}. Not thread-safe: one handshake, one owner.
 */
public final class HandshakeState {
    /** Noise messages are at most 65535 bytes (spec §3). */
    public static final int MAX_MESSAGE_LEN = 65535;
    private static final int DH_LEN = X25519.KEY_LEN;
    private static final int TAG_LEN = 16;

    private final NoisePattern pattern;
    private final NonceEncoding encoding;
    private final boolean initiator;
    private SymmetricState ss;
    private final byte[] sPriv; // null if the pattern gives this side no static key
    private final byte[] sPub;
    private byte[] ePriv;
    private byte[] ePub;
    private byte[] rs;
    private byte[] re;
    private byte[] psk;
    private int messageIndex;
    private boolean splitDone;

    private HandshakeState(NoisePattern pattern, NonceEncoding encoding, boolean initiator, byte[] prologue,
            byte[] localStaticPrivate, byte[] remoteStaticPublic, byte[] psk) {
        this.pattern = Objects.requireNonNull(pattern, "pattern");
        this.initiator = initiator;
        this.encoding = Objects.requireNonNull(encoding, "encoding");
        if (pattern.needsLocalStatic(initiator) && localStaticPrivate == null) {
            throw new IllegalArgumentException(pattern + " needs the " + side() + "'s static private key");
        }
        this.sPriv = localStaticPrivate == null ? null : key32(localStaticPrivate, "local static private key");
        this.sPub = sPriv == null ? null : X25519.publicKey(sPriv);
        this.rs = remoteStaticPublic == null ? null : key32(remoteStaticPublic, "remote static public key");
        if (psk != null) setPsk(psk);

        ss = new SymmetricState(pattern.protocolName(), encoding);
        ss.mixHash(prologue == null ? new byte[0] : prologue);
        if (pattern.responderStaticKnown) ss.mixHash(initiator ? rs : sPub);
    }

    /**
     * @param remoteStaticPublic required when the pattern pre-shares the responder's static key (IK, IKpsk2)
     * @param psk 32 bytes for psk patterns (WireGuard: all zero when unset), otherwise null
     */
    public static HandshakeState initiator(NoisePattern p, NonceEncoding n, byte[] prologue, byte[] localStaticPrivate,
            byte[] remoteStaticPublic, byte[] psk) {
        if (p.responderStaticKnown && remoteStaticPublic == null) {
            throw new IllegalArgumentException(p + " needs the responder's static public key");
        }
        if (p.usesPsk() && psk == null) throw new IllegalArgumentException(p + " needs a psk (all zero if none)");
        HandshakeState hs = new HandshakeState(p, n, true, prologue, localStaticPrivate, remoteStaticPublic, psk);
        if (hs.sPriv != null && hs.rs != null) {
            // Fail at setup, not mid-handshake, if the configured peer key is a low-order point.
            try {
                Arrays.fill(X25519.sharedSecret(hs.sPriv, hs.rs), (byte) 0);
            } catch (CryptoException e) {
                throw new IllegalArgumentException("remote static public key is a low-order point");
            }
        }
        return hs;
    }

    /** @param psk may be null now and set with {@link #setPsk} once the initiator is known (WireGuard). */
    public static HandshakeState responder(NoisePattern p, NonceEncoding n, byte[] prologue, byte[] localStaticPrivate,
            byte[] psk) {
        return new HandshakeState(p, n, false, prologue, localStaticPrivate, null, psk);
    }

    /**
     * Sets the pre-shared key. It is consumed by the psk token, which IKpsk2 places at the end of message 2, so a
     * responder may call this between reading message 1 and writing message 2.
     */
    public void setPsk(byte[] psk) {
        if (!pattern.usesPsk()) throw new IllegalArgumentException(pattern + " takes no psk");
        this.psk = key32(psk, "psk");
    }

    /** Fixes the ephemeral key instead of generating one; for test vectors only. */
    public void setEphemeralForTest(byte[] ephemeralPrivate) {
        if (ePub != null) throw new IllegalStateException("ephemeral key already sent");
        this.ePriv = key32(ephemeralPrivate, "ephemeral private key");
    }

    /** Writes the next handshake message: its tokens, then the encrypted payload (empty if null). */
    public byte[] writeMessage(byte[] payload) {
        List<Token> tokens = nextMessage(true);
        byte[] body = payload == null ? new byte[0] : payload;
        int overhead = TAG_LEN;
        for (Token t : tokens) overhead += t == Token.E ? DH_LEN : t == Token.S ? DH_LEN + TAG_LEN : 0;
        if (body.length > MAX_MESSAGE_LEN - overhead) {
            throw new IllegalArgumentException("payload too large for a " + MAX_MESSAGE_LEN + "-byte Noise message");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(overhead + body.length);
        try {
            for (Token t : tokens) {
                switch (t) {
                    case E -> {
                        if (ePriv == null) ePriv = X25519.newPrivateKey();
                        ePub = X25519.publicKey(ePriv);
                        out.writeBytes(ePub);
                        ss.mixHash(ePub);
                        if (pattern.usesPsk()) ss.mixKey(ePub);
                    }
                    case S -> out.writeBytes(ss.encryptAndHash(sPub));
                    case PSK -> ss.mixKeyAndHash(psk);
                    default -> mixDh(t);
                }
            }
        } catch (CryptoException e) {
            // Only reachable for patterns that DH with a peer ephemeral before authenticating it (XX's ee).
            throw new IllegalStateException("handshake failed: " + e.getMessage(), e);
        }
        out.writeBytes(ss.encryptAndHash(body));
        messageIndex++;
        return out.toByteArray();
    }

    /**
     * Reads the next handshake message and returns its payload. On any failure the state is left as it was, so a
     * forged message cannot spoil a handshake that the genuine message would still complete.
     */
    public byte[] readMessage(byte[] message) throws CryptoException {
        List<Token> tokens = nextMessage(false);
        Objects.requireNonNull(message, "message");
        if (message.length > MAX_MESSAGE_LEN) throw new CryptoException("Noise message longer than " + MAX_MESSAGE_LEN + " bytes");
        SymmetricState savedSs = ss.copy();
        byte[] savedRe = re;
        byte[] savedRs = rs;
        try {
            int off = 0;
            for (Token t : tokens) {
                switch (t) {
                    case E -> {
                        re = slice(message, off, DH_LEN);
                        off += DH_LEN;
                        ss.mixHash(re);
                        if (pattern.usesPsk()) ss.mixKey(re);
                    }
                    case S -> {
                        int len = ss.hasKey() ? DH_LEN + TAG_LEN : DH_LEN;
                        rs = ss.decryptAndHash(slice(message, off, len));
                        off += len;
                    }
                    case PSK -> ss.mixKeyAndHash(psk);
                    default -> mixDh(t);
                }
            }
            byte[] rest = Arrays.copyOfRange(message, off, message.length);
            if (ss.hasKey() && rest.length < TAG_LEN) throw new CryptoException("Noise message too short");
            byte[] payload = ss.decryptAndHash(rest);
            messageIndex++;
            return payload;
        } catch (CryptoException e) {
            ss = savedSs;
            re = savedRe;
            rs = savedRs;
            throw e;
        }
    }

    /** The transport CipherStates; only once, after the last message, since two copies would reuse nonces. */
    public Split split() {
        if (!isComplete()) throw new IllegalStateException("handshake not complete");
        if (splitDone) throw new IllegalStateException("split() already called");
        splitDone = true;
        byte[][] k = ss.split();
        Split s = new Split(new CipherState(k[0], encoding), new CipherState(k[1], encoding));
        Arrays.fill(k[0], (byte) 0);
        Arrays.fill(k[1], (byte) 0);
        ss.wipe();
        if (ePriv != null) Arrays.fill(ePriv, (byte) 0);
        if (sPriv != null) Arrays.fill(sPriv, (byte) 0); // our copy; the caller keeps its own
        return s;
    }

    /** The peer's static key: known up front for IK initiators, learned from the handshake otherwise; or null. */
    public byte[] remoteStaticPublic() {
        return rs == null ? null : rs.clone();
    }

    /** The peer's ephemeral key once received, else null. */
    public byte[] remoteEphemeralPublic() {
        return re == null ? null : re.clone();
    }

    /** The handshake hash h; after completion, the channel-binding value of spec §11.2. */
    public byte[] handshakeHash() {
        return ss.handshakeHash();
    }

    public boolean isComplete() {
        return messageIndex == pattern.messages.size();
    }

    public boolean isInitiator() {
        return initiator;
    }

    public NoisePattern pattern() {
        return pattern;
    }

    public NonceEncoding nonceEncoding() {
        return encoding;
    }

    private List<Token> nextMessage(boolean writing) {
        if (isComplete()) throw new IllegalStateException("handshake already complete");
        boolean initiatorsTurn = messageIndex % 2 == 0;
        if ((initiatorsTurn == initiator) != writing) {
            throw new IllegalStateException("expected to " + (writing ? "read" : "write") + " message " + (messageIndex + 1));
        }
        List<Token> tokens = pattern.messages.get(messageIndex);
        if (tokens.contains(Token.PSK) && psk == null) throw new IllegalStateException("psk not set");
        return tokens;
    }

    private void mixDh(Token t) throws CryptoException {
        byte[] dh = switch (t) {
            case EE -> X25519.sharedSecret(ePriv, re);
            case ES -> initiator ? X25519.sharedSecret(ePriv, rs) : X25519.sharedSecret(sPriv, re);
            case SE -> initiator ? X25519.sharedSecret(sPriv, re) : X25519.sharedSecret(ePriv, rs);
            case SS -> X25519.sharedSecret(sPriv, rs);
            default -> throw new AssertionError(t);
        };
        ss.mixKey(dh);
        Arrays.fill(dh, (byte) 0);
    }

    private String side() {
        return initiator ? "initiator" : "responder";
    }

    private static byte[] slice(byte[] m, int off, int len) throws CryptoException {
        if (m.length - off < len) throw new CryptoException("Noise message too short");
        return Arrays.copyOfRange(m, off, off + len);
    }

    private static byte[] key32(byte[] k, String what) {
        if (k == null || k.length != 32) throw new IllegalArgumentException(what + " must be 32 bytes");
        return k.clone();
    }

    @Override
    public String toString() {
        return "HandshakeState[" + pattern.protocolName() + ", " + side() + ", message " + messageIndex + "]";
    }
}
