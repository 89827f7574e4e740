package dev.lattice.agent.router;

import dev.lattice.wire.ip.IpPrefix;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Linux router using iproute2 ({@code ip}): brings the TUN up with its MTU, then adds and removes addresses and
 * routes by difference with what it set last, so a netmap update only touches what changed. Routes go into the
 * main table with {@code replace}, which also takes over a route left behind by a previous run.
 */
public final class LinuxRouter implements Router {
    private static final Logger log = LoggerFactory.getLogger(LinuxRouter.class);

    private final String dev;
    private final String ipCommand;
    private final Set<IpPrefix> addrs = new LinkedHashSet<>();
    private final Set<IpPrefix> routes = new LinkedHashSet<>();

    public LinuxRouter(String dev, int mtu) throws IOException {
        this(dev, mtu, "ip");
    }

    LinuxRouter(String dev, int mtu, String ipCommand) throws IOException {
        this.dev = dev;
        this.ipCommand = ipCommand;
        ip("link", "set", "dev", dev, "mtu", Integer.toString(mtu), "up");
    }

    @Override
    public synchronized void set(RouterConfig config) throws IOException {
        Set<IpPrefix> wantAddrs = new LinkedHashSet<>(config.localAddrs());
        Set<IpPrefix> wantRoutes = new LinkedHashSet<>(config.routes());
        // Routes first out, addresses last out; addresses first in, so routes have a source address.
        for (IpPrefix r : List.copyOf(routes)) {
            if (!wantRoutes.contains(r)) {
                tryIp(family(r), "route", "del", r.toString(), "dev", dev);
                routes.remove(r);
            }
        }
        for (IpPrefix a : List.copyOf(addrs)) {
            if (!wantAddrs.contains(a)) {
                tryIp(family(a), "addr", "del", a.toString(), "dev", dev);
                addrs.remove(a);
            }
        }
        for (IpPrefix a : wantAddrs) {
            if (addrs.contains(a)) continue;
            // nodad: the address is ours by assignment, duplicate detection would only delay IPv6 by seconds.
            if (!a.isIPv4()) ip("-6", "addr", "replace", a.toString(), "dev", dev, "nodad");
            else ip("-4", "addr", "replace", a.toString(), "dev", dev);
            addrs.add(a);
        }
        for (IpPrefix r : wantRoutes) {
            if (routes.contains(r)) continue;
            ip(family(r), "route", "replace", r.toString(), "dev", dev);
            routes.add(r);
        }
    }

    @Override
    public synchronized void close() {
        for (IpPrefix r : routes) tryIp(family(r), "route", "del", r.toString(), "dev", dev);
        for (IpPrefix a : addrs) tryIp(family(a), "addr", "del", a.toString(), "dev", dev);
        routes.clear();
        addrs.clear();
    }

    public synchronized Set<IpPrefix> installedRoutes() {
        return Set.copyOf(routes);
    }

    private static String family(IpPrefix p) {
        return p.isIPv4() ? "-4" : "-6";
    }

    private void tryIp(String... args) {
        try {
            ip(args);
        } catch (IOException e) {
            log.debug("ip {}: {}", String.join(" ", args), e.getMessage());
        }
    }

    private void ip(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ipCommand);
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timed out: " + String.join(" ", cmd));
            }
            if (p.exitValue() != 0) throw new IOException(String.join(" ", cmd) + " failed: " + out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", cmd), e);
        }
    }
}
