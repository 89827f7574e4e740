/**
 * Tailscale's ts2021 control channel, as pure codecs (tailscale {@code control/controlbase}): the Noise IK
 * handshake messages, the encrypted record framing with big-endian nonces, the server's early payload, and the
 * length-prefixed (optionally zstd) MapResponse stream framing. No I/O: bytes in, bytes or records out.
 */
package dev.lattice.wire.ts2021;
