/**
 * STUN binding requests and responses (RFC 5389, and RFC 3489's classic form for old clients), laid out exactly as
 * tailscale's {@code net/stun}. Pure codecs, no I/O.
 */
package dev.lattice.wire.stun;
