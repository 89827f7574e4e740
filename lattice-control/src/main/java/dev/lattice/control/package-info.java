/** The coordination server (Headscale's role): ts2021, registration, netmaps, storage, admin. */
package dev.lattice.control;
