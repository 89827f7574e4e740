package dev.lattice.wireguard.uapi;

import dev.lattice.wire.ip.IpPrefix;
import java.util.Objects;

/**
 * One {@code allowed_ip} line of a peer block: {@code allowed_ip=10.0.0.0/24} adds, {@code allowed_ip=-10.0.0.0/24}
 * removes (the removal form is from wireguard-go 0.0.20250515 on; older releases reject it with -22). Prefixes are
 * masked to their length, as wireguard-go's allowed-IPs trie stores them.
 */
public sealed interface AllowedIpChange {
    IpPrefix prefix();

    /**
     * Route {@code prefix} to this peer. Like wireguard-go's trie insert, this takes the prefix away from any other
     * peer that had exactly this prefix.
     */
    record Add(IpPrefix prefix) implements AllowedIpChange {
        public Add {
            Objects.requireNonNull(prefix, "prefix");
        }
    }

    /** Stop routing {@code prefix} to this peer; a no-op when the prefix is not this peer's. */
    record Remove(IpPrefix prefix) implements AllowedIpChange {
        public Remove {
            Objects.requireNonNull(prefix, "prefix");
        }
    }
}
