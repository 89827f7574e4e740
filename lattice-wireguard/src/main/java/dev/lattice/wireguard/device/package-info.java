/** A userspace WireGuard device: peers, the Noise handshake, sessions, timers and the encrypted data path. */
package dev.lattice.wireguard.device;
