/** Linux system calls through the FFM API, for the TUN device and the UDP socket. */
package dev.lattice.wireguard.sys;
