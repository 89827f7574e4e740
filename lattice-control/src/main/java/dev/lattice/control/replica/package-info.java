/** Several lattice-control replicas on one PostgreSQL database: a shared identity, a change log that keeps each replica's tailnet current, and one meshed DERP region. */
package dev.lattice.control.replica;
