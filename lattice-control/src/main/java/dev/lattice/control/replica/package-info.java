/** Several lattice-control replicas on one PostgreSQL database: a shared identity, and a change log that keeps each replica's tailnet current. */
package dev.lattice.control.replica;
