/** A self-contained DERP + STUN server (what {@code lattice derper} runs): Netty HTTP(S) listener around a DerpServer. */
package dev.lattice.derp.standalone;
