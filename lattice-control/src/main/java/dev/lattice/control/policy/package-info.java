/**
 * The access policy (Tailscale's HuJSON policy file): parsing with precise errors, compiling to per-node packet
 * filters and peer visibility, tag ownership, route auto-approval and the policy's own tests.
 */
package dev.lattice.control.policy;
