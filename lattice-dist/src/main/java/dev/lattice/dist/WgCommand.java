package dev.lattice.dist;

/** {@code lattice-wg [-f] IFNAME}: a drop-in for {@code wireguard-go IFNAME}. */
final class WgCommand {
    private WgCommand() {}

    static int run(String[] args) {
        System.err.println("lattice-wg: not implemented yet");
        return 1;
    }
}
