package dev.lattice.wireguard.uapi;

import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;

/**
 * One peer block of a {@code set} transaction: everything from a {@code public_key=} line up to the next one. The
 * same public key may appear in several blocks of one {@link UapiSet}; they apply in order.
 *
 * <p>How a device applies a block (wireguard-go's {@code device/uapi.go}):
 * <ol>
 *   <li>If {@code publicKey} is the device's own public key (after this transaction's {@code private_key}, if any),
 *       the whole block is ignored.
 *   <li>If {@link #remove()}, the peer is removed if it exists, and nothing else happens; a removal block carries
 *       no other changes (lines after {@code remove=true} are validated but have no effect in wireguard-go).
 *   <li>If {@link #updateOnly()} and no such peer exists, nothing happens. Otherwise the peer is created if
 *       missing.
 *   <li>Non-null {@code presharedKey}, {@code endpoint}, {@code persistentKeepaliveSeconds} replace the peer's
 *       values ({@link PresharedKey#NONE} clears the preshared key; an interval of 0 turns keepalives off). Turning
 *       keepalives on (from 0 to non-zero) sends a keepalive right away, once the device is up.
 *   <li>If {@link #replaceAllowedIps()}, all of the peer's allowed IPs are removed; then the
 *       {@link #allowedIps()} changes apply in order.
 * </ol>
 *
 * @param publicKey                  the peer; never null
 * @param updateOnly                 {@code update_only=true}: do not create the peer
 * @param remove                     {@code remove=true}: remove the peer
 * @param presharedKey               new preshared key, or null to leave it unchanged
 * @param endpoint                   new endpoint (an unresolved-free literal address and port), or null to leave it
 * @param persistentKeepaliveSeconds new keepalive interval 0..65535, or null to leave it unchanged
 * @param replaceAllowedIps          {@code replace_allowed_ips=true}: drop the existing allowed IPs first
 * @param allowedIps                 allowed-IP additions and removals, in line order
 */
public record PeerChange(
        NodePublicKey publicKey,
        boolean updateOnly,
        boolean remove,
        PresharedKey presharedKey,
        InetSocketAddress endpoint,
        Integer persistentKeepaliveSeconds,
        boolean replaceAllowedIps,
        List<AllowedIpChange> allowedIps) {

    public PeerChange {
        Objects.requireNonNull(publicKey, "publicKey");
        allowedIps = List.copyOf(allowedIps);
        if (endpoint != null && endpoint.isUnresolved()) {
            throw new IllegalArgumentException("endpoint must be a literal address, not a host name");
        }
        if (persistentKeepaliveSeconds != null
                && (persistentKeepaliveSeconds < 0 || persistentKeepaliveSeconds > 0xffff)) {
            throw new IllegalArgumentException("persistent keepalive " + persistentKeepaliveSeconds + " out of range");
        }
        if (remove && (updateOnly || presharedKey != null || endpoint != null || persistentKeepaliveSeconds != null
                || replaceAllowedIps || !allowedIps.isEmpty())) {
            throw new IllegalArgumentException("a removal carries no other changes");
        }
    }

    /** A block that only names the peer: creates it if missing, changes nothing else. */
    public static PeerChange of(NodePublicKey publicKey) {
        return new PeerChange(publicKey, false, false, null, null, null, false, List.of());
    }

    /** {@code public_key=...} followed by {@code remove=true}. */
    public static PeerChange removal(NodePublicKey publicKey) {
        return new PeerChange(publicKey, false, true, null, null, null, false, List.of());
    }

    @Override
    public String toString() {
        return "PeerChange[" + publicKey
                + (updateOnly ? ", updateOnly" : "")
                + (remove ? ", remove" : "")
                + (presharedKey == null ? "" : presharedKey.isZero() ? ", presharedKey=none" : ", presharedKey=set")
                + (endpoint == null ? "" : ", endpoint=" + Netip.formatEndpoint(endpoint))
                + (persistentKeepaliveSeconds == null ? "" : ", keepalive=" + persistentKeepaliveSeconds)
                + (replaceAllowedIps ? ", replaceAllowedIps" : "")
                + (allowedIps.isEmpty() ? "" : ", allowedIps=" + allowedIps)
                + "]";
    }
}
