/**
 * The {@code /machine/*} endpoints a Tailscale client calls over its ts2021 channel: register, map (streaming and
 * lite updates), and the small ones. Each HTTP/2 stream gets a {@link MachineStreamHandler}; the logic lives behind
 * {@link MachineService}.
 */
package dev.lattice.control.machine;
