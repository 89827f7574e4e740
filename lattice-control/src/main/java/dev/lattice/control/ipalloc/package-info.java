/** Hands out tailnet addresses (100.64.0.0/10, fd7a:115c:a1e0::/48 or subsets) to nodes. */
package dev.lattice.control.ipalloc;
