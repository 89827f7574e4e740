/** The agent's persisted state: machine and node keys and the user's preferences, in one 0600 file replaced atomically. */
package dev.lattice.agent.state;
