/**
 * Tailscale's disco protocol, byte for byte as {@code tailscale.com/disco}: the outer packet
 * ({@code TS💬} | sender disco key | nonce | NaCl box) and the inner messages (Ping, Pong, CallMeMaybe and the
 * peer-relay messages). Pure codec, no I/O. Parsing follows Go's {@code disco.Parse} exactly: what Go rejects
 * throws {@link dev.lattice.wire.disco.DiscoException}, what Go tolerates (trailing bytes, odd versions) is
 * tolerated the same way.
 */
package dev.lattice.wire.disco;
