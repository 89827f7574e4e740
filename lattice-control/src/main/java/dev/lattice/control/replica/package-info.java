/**
 * Several lattice-control replicas on one PostgreSQL database: a shared identity, a change log that keeps each
 * replica's tailnet current, online status across the replicas (sessions and heartbeats), and one meshed DERP region.
 */
package dev.lattice.control.replica;
