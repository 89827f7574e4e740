/** The agent's health warnings (tailscale's {@code health} tracker, the part Lattice can observe), for status. */
package dev.lattice.agent.health;
