/** Cryptokey routing: which peer owns a destination address (longest-prefix match over AllowedIPs). */
package dev.lattice.wireguard.allowedips;
