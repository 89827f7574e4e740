/**
 * Several lattice-control replicas on one PostgreSQL database: a shared identity, a change log that keeps each
 * replica's tailnet current, and online status across the replicas (sessions and heartbeats).
 */
package dev.lattice.control.replica;
