/** The UDP side of the device: the socket and peer endpoints. */
package dev.lattice.wireguard.conn;
