/** The ts2021 control channel over Netty: the record codec both sides use, and the client (tailscale control/controlhttp + ts2021) used by the agent, the tests and the load benchmark. */
package dev.lattice.controlclient;
