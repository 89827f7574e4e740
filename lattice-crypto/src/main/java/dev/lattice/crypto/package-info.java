/** Crypto primitives shared by WireGuard, ts2021 (Noise IK), DERP and disco: X25519, BLAKE2s, HKDF, the AEADs, NaCl box. */
package dev.lattice.crypto;
