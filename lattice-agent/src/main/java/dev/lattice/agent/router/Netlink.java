package dev.lattice.agent.router;

import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.netlink.NetlinkMessage.Ack;
import java.io.Closeable;
import java.io.IOException;
import java.util.List;

/**
 * What the Linux router asks of the kernel's routing (tailscaled does it with netlink too): links, policy rules,
 * table flushes, and batches of address and route changes. {@link NetlinkSocket} is the kernel; tests record.
 */
public interface Netlink extends Closeable {
    /** Sets the link's MTU and brings it up ({@code ip link set dev … mtu … up}). */
    void linkUp(String dev, int mtu) throws IOException;

    /** Adds ({@code withMark} as the rule has it) or deletes (by pref and action) one policy rule: 0 or the errno. */
    int rule(boolean add, boolean v6, LinuxRouter.Rule rule) throws IOException;

    /** Deletes every route of one family in {@code table} ({@code ip route flush table …}); returns how many. */
    int flushTable(boolean v6, int table) throws IOException;

    /** Sends the changes at once; the kernel's answer to each, in order. */
    List<Ack> apply(List<Change> changes) throws IOException;

    /** One address or route change, shown as its {@code ip -batch} line. */
    record Change(Kind kind, boolean add, IpPrefix prefix, String dev, int table) {
        public enum Kind { ADDRESS, ROUTE, THROW }

        /** An IPv6 address is added without duplicate detection: it is ours by assignment, and DAD would only delay it. */
        public boolean nodad() {
            return kind == Kind.ADDRESS && add && !prefix.isIPv4();
        }

        @Override
        public String toString() {
            return switch (kind) {
                case ADDRESS -> "address " + (add ? "replace " : "del ") + prefix + " dev " + dev + (nodad() ? " nodad" : "");
                case ROUTE -> "route " + (add ? "replace " : "del ") + prefix + " dev " + dev + " table " + table;
                case THROW -> "route " + (add ? "replace " : "del ") + "throw " + prefix + " table " + table;
            };
        }
    }
}
