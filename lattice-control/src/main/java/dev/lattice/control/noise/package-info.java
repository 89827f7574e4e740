/**
 * The ts2021 upgrade on a Netty pipeline: the {@code POST /ts2021} handshake, the record codec between the socket
 * and HTTP/2, and the HTTP/2 server the client talks to over the encrypted channel.
 */
package dev.lattice.control.noise;
