/** The network map: the agent's immutable view of its tailnet, and how map responses (full and delta) update it. */
package dev.lattice.agent.netmap;
