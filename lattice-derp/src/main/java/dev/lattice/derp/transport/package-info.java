/** Netty plumbing shared by the DERP server and client: frame splitting and frame writing over ByteBufs. */
package dev.lattice.derp.transport;
