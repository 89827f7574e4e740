/** Tailscale Funnel on the control side: who is the ingress, who may publish, and the peers, rules and grants between them. */
package dev.lattice.control.funnel;
