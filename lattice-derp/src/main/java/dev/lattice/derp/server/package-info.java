/**
 * The DERP relay server: {@link dev.lattice.derp.server.DerpServer} mounts in any Netty HTTP/1.1 pipeline through
 * {@link dev.lattice.derp.server.DerpServer#httpHandler()}, relays packets between connected clients through bounded
 * per-client queues, and forwards to meshed servers of the same region.
 */
package dev.lattice.derp.server;
