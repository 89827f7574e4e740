/** STUN server (derper's UDP 3478 service) and a small STUN client; the message layouts live in {@code dev.lattice.wire.stun}. */
package dev.lattice.derp.stun;
