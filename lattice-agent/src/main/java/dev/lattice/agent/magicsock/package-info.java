/**
 * The magic socket: one UDP socket for WireGuard, disco and STUN, DERP relays, and per-peer path selection (direct
 * UDP once a disco pong proves it, DERP otherwise), plugged into the WireGuard device as its {@code PathSelector}.
 */
package dev.lattice.agent.magicsock;
