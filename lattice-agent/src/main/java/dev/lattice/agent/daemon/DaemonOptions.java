package dev.lattice.agent.daemon;

import java.nio.file.Path;

/**
 * {@code latticed}'s settings (tailscaled's flags of the same names).
 *
 * @param stateDir where keys and prefs live
 * @param stateFile the state file ({@code --state}); defaults to {@code stateDir/lattice.state}
 * @param socket the local API socket
 * @param tun the TUN interface name
 * @param port the UDP port for WireGuard and disco (0 = any)
 */
public record DaemonOptions(Path stateDir, Path stateFile, Path socket, String tun, int port) {
    public static final int MTU = 1280;
}
