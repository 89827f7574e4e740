package dev.lattice.testlab;

/**
 * A namespace holding a Linux bridge {@code br0}: an L2 switch that hosts plug into with {@link #connect}.
 * Give {@link #host()} an address on {@link #BRIDGE} and call {@link Host#enableForwarding()} to make it a
 * router as well.
 */
public final class Switch {
    /** The bridge device inside the switch namespace. */
    public static final String BRIDGE = "br0";

    private final Host host;
    private int nextPort;

    Switch(Host host) {
        this.host = host;
        host.ip("link", "add", BRIDGE, "type", "bridge");
        host.up(BRIDGE);
    }

    /** The switch's own namespace. */
    public Host host() {
        return host;
    }

    /**
     * Plugs {@code h} into the switch: a veth pair with end {@code eth<n>} in {@code h} and port {@code p<n>} on
     * the bridge, both up. Returns the link (a = h, b = switch).
     */
    public Link connect(Host h) {
        String port;
        synchronized (this) {
            port = "p" + nextPort++;
        }
        Link link = host.lab().link(h, h.nextDevName("eth"), host, port);
        host.ip("link", "set", port, "master", BRIDGE);
        return link;
    }

    @Override
    public String toString() {
        return "switch " + host;
    }
}
