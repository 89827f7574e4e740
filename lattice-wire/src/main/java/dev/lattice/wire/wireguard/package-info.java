/** WireGuard message layouts: pure codecs, bytes in and records out, no I/O. */
package dev.lattice.wire.wireguard;
