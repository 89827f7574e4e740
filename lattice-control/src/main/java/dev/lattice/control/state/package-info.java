/**
 * The tailnet as the server holds it in memory: nodes and users loaded from the store at start, every change
 * written through to the store first (so a crash loses nothing acknowledged), then published as a {@link Change}
 * to the map sessions. Online status is runtime-only: this process's map streams, and (replicas) the other replicas'
 * as {@code control.replica} reports them.
 */
package dev.lattice.control.state;
