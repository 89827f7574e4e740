/**
 * rtnetlink requests and replies (links, addresses, routes, policy rules), laid out as the kernel's
 * {@code linux/netlink.h}, {@code linux/rtnetlink.h} and {@code linux/fib_rules.h}. Pure codecs, no I/O; numbers are in
 * the host's byte order, as netlink has them.
 */
package dev.lattice.wire.netlink;
