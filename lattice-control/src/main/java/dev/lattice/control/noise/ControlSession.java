package dev.lattice.control.noise;

import dev.lattice.crypto.key.MachinePublicKey;
import java.net.SocketAddress;

/**
 * One authenticated ts2021 connection: the client's machine key (proven by the Noise handshake), the capability
 * version it announced, and where it came from. Every request on the connection acts for this machine only.
 */
public record ControlSession(MachinePublicKey machineKey, int version, SocketAddress remote) {}
