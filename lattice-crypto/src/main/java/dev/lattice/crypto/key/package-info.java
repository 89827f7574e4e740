/** Typed 32-byte keys with Tailscale's text forms; private keys never print themselves. */
package dev.lattice.crypto.key;
