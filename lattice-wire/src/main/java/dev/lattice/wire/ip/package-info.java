/** IP addresses and prefixes as typed values with strict, lookup-free parsing. */
package dev.lattice.wire.ip;
