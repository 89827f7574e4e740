/**
 * Durable state of the control server (users, nodes, auth keys, API keys, policy) in SQLite or PostgreSQL.
 * Entry point: {@link dev.lattice.control.store.Store}.
 */
package dev.lattice.control.store;
