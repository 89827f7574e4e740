/**
 * DERP wire format (tailscale {@code derp/derp.go}): frame layouts, the NaCl-boxed handshake messages and limits.
 * Pure codecs: bytes in, records out, no I/O.
 */
package dev.lattice.wire.derp;
