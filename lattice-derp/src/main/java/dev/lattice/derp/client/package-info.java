/** The DERP client for node agents and for servers meshing with each other (tailscale {@code derphttp.Client}). */
package dev.lattice.derp.client;
