package dev.lattice.crypto.noise;

/** The message tokens of Noise handshake patterns (spec §7). */
enum Token {
    E, S, EE, ES, SE, SS, PSK
}
