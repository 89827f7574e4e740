/** Network checks: STUN and DERP latency probes, the public address, NAT mapping behaviour, the preferred DERP region. */
package dev.lattice.agent.netcheck;
