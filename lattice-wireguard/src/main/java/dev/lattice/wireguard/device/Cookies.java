package dev.lattice.wireguard.device;

import dev.lattice.crypto.AeadException;
import dev.lattice.crypto.Blake2s;
import dev.lattice.crypto.ConstantTime;
import dev.lattice.crypto.XChaChaPoly;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.wireguard.CookieReply;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * WireGuard's DoS protection (whitepaper §5.4.4, §5.4.7): mac1 proves the sender knows our public key; under
 * load, mac2 proves it can receive at its source address, via a cookie we send it encrypted.
 */
final class Cookies {
    private static final byte[] LABEL_MAC1 = "mac1----".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] LABEL_COOKIE = "cookie--".getBytes(StandardCharsets.US_ASCII);
    static final long COOKIE_REFRESH_NANOS = 120_000_000_000L;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Cookies() {}

    static byte[] mac1Key(NodePublicKey pub) {
        return Blake2s.hash(LABEL_MAC1, pub.raw());
    }

    static byte[] cookieKey(NodePublicKey pub) {
        return Blake2s.hash(LABEL_COOKIE, pub.raw());
    }

    /** The address bytes a cookie is bound to: port and IP from the sender's sockaddr_in6. */
    static byte[] sourceBytes(byte[] sockaddr) {
        byte[] s = new byte[18];
        System.arraycopy(sockaddr, 2, s, 0, 2);
        System.arraycopy(sockaddr, 8, s, 2, 16);
        return s;
    }

    /** Checks incoming handshake messages against our own key (the responder side). */
    static final class Checker {
        private final byte[] mac1Key;
        private final byte[] cookieKey;
        private final Clock clock;
        private byte[] secret = new byte[32];
        private long secretSetNanos;
        private boolean hasSecret;

        Checker(NodePublicKey ourPublic, Clock clock) {
            this.mac1Key = mac1Key(ourPublic);
            this.cookieKey = cookieKey(ourPublic);
            this.clock = clock;
        }

        boolean checkMac1(byte[] msg, int off, int len) {
            int macOff = len - 32;
            byte[] mac = Blake2s.mac(mac1Key, 16, Arrays.copyOfRange(msg, off, off + macOff));
            return ConstantTime.equal(mac, Arrays.copyOfRange(msg, off + macOff, off + macOff + 16));
        }

        synchronized boolean checkMac2(byte[] msg, int off, int len, byte[] source) {
            if (!hasSecret || clock.nanoTime() - secretSetNanos > COOKIE_REFRESH_NANOS) return false;
            byte[] cookie = Blake2s.mac(secret, 16, source);
            int macOff = len - 16;
            byte[] mac = Blake2s.mac(cookie, 16, Arrays.copyOfRange(msg, off, off + macOff));
            return ConstantTime.equal(mac, Arrays.copyOfRange(msg, off + macOff, off + len));
        }

        /** A cookie reply for a handshake message from {@code source} whose sender index is {@code receiver}. */
        synchronized byte[] createReply(byte[] msg, int off, int len, int receiver, byte[] source) {
            long now = clock.nanoTime();
            if (!hasSecret || now - secretSetNanos > COOKIE_REFRESH_NANOS) {
                RANDOM.nextBytes(secret);
                secretSetNanos = now;
                hasSecret = true;
            }
            byte[] cookie = Blake2s.mac(secret, 16, source);
            byte[] nonce = new byte[24];
            RANDOM.nextBytes(nonce);
            byte[] mac1 = Arrays.copyOfRange(msg, off + len - 32, off + len - 16);
            byte[] enc = XChaChaPoly.seal(cookieKey, nonce, mac1, cookie);
            return new CookieReply(receiver, nonce, enc).encode();
        }
    }

    /** Adds MACs to our outgoing handshake messages for one peer, and takes cookies it sends us. */
    static final class Generator {
        private final byte[] mac1Key;
        private final byte[] cookieKey;
        private final Clock clock;
        private byte[] lastMac1;
        private byte[] cookie;
        private long cookieSetNanos;

        Generator(NodePublicKey peerPublic, Clock clock) {
            this.mac1Key = mac1Key(peerPublic);
            this.cookieKey = cookieKey(peerPublic);
            this.clock = clock;
        }

        /** Fills mac1 and (with a fresh cookie) mac2 at the end of a finished handshake message. */
        synchronized void addMacs(byte[] msg) {
            int mac1Off = msg.length - 32;
            byte[] mac1 = Blake2s.mac(mac1Key, 16, Arrays.copyOfRange(msg, 0, mac1Off));
            System.arraycopy(mac1, 0, msg, mac1Off, 16);
            lastMac1 = mac1;
            if (cookie != null && clock.nanoTime() - cookieSetNanos <= COOKIE_REFRESH_NANOS) {
                byte[] mac2 = Blake2s.mac(cookie, 16, Arrays.copyOfRange(msg, 0, mac1Off + 16));
                System.arraycopy(mac2, 0, msg, mac1Off + 16, 16);
            } else {
                Arrays.fill(msg, mac1Off + 16, msg.length, (byte) 0);
            }
        }

        /** Decrypts and stores the cookie; false if it does not answer our last message. */
        synchronized boolean consumeReply(CookieReply reply) {
            if (lastMac1 == null) return false;
            try {
                cookie = XChaChaPoly.open(cookieKey, reply.nonce(), lastMac1, reply.encryptedCookie());
                cookieSetNanos = clock.nanoTime();
                return true;
            } catch (AeadException e) {
                return false;
            }
        }
    }
}
