/**
 * What a node is told: tailcfg Nodes built from stored nodes, the DERP map, the DNS config, the packet filter, and
 * the per-session map stream that turns tailnet changes into full and delta MapResponses.
 */
package dev.lattice.control.netmap;
