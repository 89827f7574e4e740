/** Composition of the control server (config → store → tailnet → HTTP, ts2021, DERP, STUN, admin) and its CLI. */
package dev.lattice.control.server;
