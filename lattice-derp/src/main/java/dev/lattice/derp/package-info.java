/** DERP relay and STUN: servers, clients and the glue to mount them in an HTTP server. */
package dev.lattice.derp;
