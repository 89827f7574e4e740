/** Noise (rev 34) handshakes for the 25519/ChaChaPoly/BLAKE2s suite: WireGuard's IKpsk2 and ts2021's IK. */
package dev.lattice.crypto.noise;
