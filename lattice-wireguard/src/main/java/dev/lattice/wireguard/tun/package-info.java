/** The Linux TUN device, opened and driven through FFM. */
package dev.lattice.wireguard.tun;
