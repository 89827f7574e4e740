/** The agent's control client (tailscale's controlclient Auto + Direct): register, long-poll the network map, report endpoints, log out. */
package dev.lattice.agent.control;
