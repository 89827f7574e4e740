/** Replay protection for WireGuard transport counters. */
package dev.lattice.wireguard.replay;
