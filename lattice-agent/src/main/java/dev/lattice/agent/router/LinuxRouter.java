package dev.lattice.agent.router;

import dev.lattice.agent.router.Netlink.Change;
import dev.lattice.agent.router.Netlink.Change.Kind;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.netlink.NetlinkMessage.Ack;
import dev.lattice.wire.netlink.Rtnl;
import dev.lattice.wireguard.sys.Libc;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Linux router, laid out as tailscaled's ({@code wgengine/router/osrouter/router_linux.go}) so admins find what
 * they know, and driven as tailscaled does, with rtnetlink ({@link Netlink}) and nftables:
 * <ul>
 * <li>Routes into the interface go into routing table 52, never the main table. Policy rules send the host's
 *     traffic there first (pref 5270), except packets marked {@link #BYPASS_MARK}: the daemon's own sockets
 *     (WireGuard UDP, DERP and control TCP) carry that mark and look up the main table (5210), then the default table
 *     (5230), and are otherwise unreachable (5250), so they can never loop into the tunnel, even with 0.0.0.0/0 in
 *     table 52 for an exit node. LANs kept direct with an exit node are "throw" routes in table 52.
 * <li>Firewall rules live in one nftables table of our own, {@code inet lattice}, written whole with {@code nft -f}
 *     in one transaction each time (atomic: never half a ruleset) and deleted on close: traffic arriving from the
 *     tunnel gets {@link #SUBNET_ROUTE_MARK}, which lets it be forwarded and, unless told otherwise, masqueraded to
 *     this host's address on the way out (subnet routers, exit nodes); tailnet (CGNAT) sources arriving on other
 *     interfaces are dropped; the bypass mark is saved in and restored from conntrack so replies to the daemon's own
 *     connections pass a strict reverse-path filter. The user's other tables are never touched; a drop in one of
 *     them still applies (nftables evaluates every table).
 * </ul>
 * Starting cleans up what a killed daemon left (its rules, table 52, the nftables table) before anything else, and
 * the host's main table (its default route) is never changed: with the daemon gone, table 52 routes vanish with
 * the interface and the rules fall through to the main table.
 *
 * <p>Routes and addresses change by difference, each change one netlink request and a change's requests sent together,
 * so thousands of per-peer routes cost a few datagrams, and no process.
 */
public final class LinuxRouter implements Router {
    private static final Logger log = LoggerFactory.getLogger(LinuxRouter.class);
    /** tailscale's table: the digits above "TS" on a qwerty keyboard. */
    public static final int TABLE = 52;
    /** Packets from the daemon's own sockets: never routed into the tunnel (tailscale's LinuxBypassMark). */
    public static final int BYPASS_MARK = 0x80000;
    /** Packets from the tunnel to be forwarded, and source-NATed (tailscale's LinuxSubnetRouteMark). */
    public static final int SUBNET_ROUTE_MARK = 0x40000;
    /** The mark bits that are ours (tailscale's LinuxFwmarkMask): the third byte. */
    public static final int MARK_MASK = 0xff0000;
    static final int PREF_BASE = 5200;
    public static final String NFT_TABLE = "lattice";
    /** ChromeOS's VM range inside the CGNAT range, which tailscale lets in from other interfaces. */
    static final String CHROMEOS_VM_RANGE = "100.115.92.0/23";
    static final String CGNAT = "100.64.0.0/10";

    /** One policy rule: its pref, the mark it matches ({@code fwmask} 0: none), and where it sends packets. */
    public record Rule(int pref, int fwmark, int fwmask, int table, int action) {
        /** {@code pref 5210 fwmark 0x80000/0xff0000 table main} as {@code ip rule} takes it; a delete names no mark. */
        String ipArgs(boolean add) {
            String mark = add && fwmask != 0 ? " fwmark " + hex(fwmark) + "/" + hex(fwmask) : "";
            String to = action == Rtnl.FR_ACT_UNREACHABLE ? "type unreachable"
                    : "table " + switch (table) {
                        case Rtnl.RT_TABLE_MAIN -> "main";
                        case Rtnl.RT_TABLE_DEFAULT -> "default";
                        default -> Integer.toString(table);
                    };
            return "pref " + pref + mark + " " + to;
        }
    }

    /** tailscale's baseIPRules. */
    static final List<Rule> RULES = List.of(
            new Rule(PREF_BASE + 10, BYPASS_MARK, MARK_MASK, Rtnl.RT_TABLE_MAIN, Rtnl.FR_ACT_TO_TBL),
            new Rule(PREF_BASE + 30, BYPASS_MARK, MARK_MASK, Rtnl.RT_TABLE_DEFAULT, Rtnl.FR_ACT_TO_TBL),
            new Rule(PREF_BASE + 50, BYPASS_MARK, MARK_MASK, 0, Rtnl.FR_ACT_UNREACHABLE),
            new Rule(PREF_BASE + 70, 0, 0, TABLE, Rtnl.FR_ACT_TO_TBL));

    /**
     * Runs a command ({@code argv[0]} looked up in PATH) with {@code stdin} (or none): nft. Never throws for an exit
     * code; a command the host does not have exits 127, as in a shell.
     */
    @FunctionalInterface
    public interface Commands {
        Result run(List<String> argv, String stdin) throws IOException;

        /** This machine's commands. */
        static Commands local() {
            return LinuxRouter::exec;
        }
    }

    /** A command's exit code and its output (stdout and stderr together). */
    public record Result(int exit, String output) {
        boolean ok() {
            return exit == 0;
        }
    }

    private final String dev;
    private final Netlink nl;
    private final Commands cmd;
    private final Sysctls sysctl;
    private boolean v6;
    private boolean nftWorks = true;
    private final Set<IpPrefix> addrs = new LinkedHashSet<>();
    private final Set<IpPrefix> routes = new LinkedHashSet<>();
    private final Set<IpPrefix> throwRoutes = new LinkedHashSet<>();
    private Boolean snat; // what the nftables table says; null before the first write
    private boolean closed;

    public LinuxRouter(String dev, int mtu) throws IOException {
        this(dev, mtu, NetlinkSocket.open(), Commands.local(), Sysctls.PROC_SYS);
    }

    /** A router that owns {@code nl} (closed with it), runs {@code cmd}'s nft and reads and sets {@code sysctl}. */
    public LinuxRouter(String dev, int mtu, Netlink nl, Commands cmd, Sysctls sysctl) throws IOException {
        this.dev = dev;
        this.nl = nl;
        this.cmd = cmd;
        this.sysctl = sysctl;
        try {
            start(mtu);
        } catch (IOException | RuntimeException e) {
            nl.close();
            throw e;
        }
    }

    private void start(int mtu) throws IOException {
        // Our nftables table, if a previous run left it, is replaced by the first write below, in its transaction.
        if (cleanUpRules()) log.info("removed the policy rules a previous run left");
        nl.linkUp(dev, mtu);
        addRules(false);
        boolean v6ok = ipv6Usable();
        if (v6ok && !addRules(true)) {
            log.warn("IPv6 policy routing unavailable: IPv6 tailnet routes are not installed");
            v6ok = false;
        }
        v6 = v6ok;
        // As tailscaled: a strict reverse-path filter then checks replies to our marked sockets with the mark the
        // prerouting chain restores, so it finds their way in the main table, not the tunnel's.
        try {
            sysctl.set("net/ipv4/conf/all/src_valid_mark", "1");
        } catch (IOException e) {
            log.warn("sysctl net.ipv4.conf.all.src_valid_mark=1 failed: {}", e.getMessage());
        }
        // With SNAT as the prefs have it by default: the first config then needs no nft run of its own (a process
        // on the path of a first `up`). Until a config comes there is no peer, so nothing from the tunnel to NAT.
        writeNft(RouterConfig.DEFAULT_SNAT);
        // A table that could not be written must not stay as a previous run left it.
        if (!nftWorks) deleteNftTable();
    }

    /**
     * Removes what a previous run left: our policy rules, table 52 and our nftables table. Safe to call when nothing
     * is there; never touches anything else.
     */
    private void cleanUp() throws IOException {
        cleanUpRules();
        deleteNftTable();
    }

    /** Deletes our nftables table, if there is one. */
    private void deleteNftTable() throws IOException {
        cmd.run(List.of("nft", "delete", "table", "inet", NFT_TABLE), null);
    }

    /** Removes our policy rules and flushes table 52; whether there were rules. */
    private boolean cleanUpRules() throws IOException {
        boolean found = false;
        for (boolean ipv6 : new boolean[] {false, true}) {
            for (Rule r : RULES) {
                // A rule may be there more than once (crashes between adds): delete until none is left.
                for (int i = 0; i < 8; i++) {
                    if (nl.rule(false, ipv6, r) != 0) break;
                    found = true;
                }
            }
            nl.flushTable(ipv6, TABLE);
        }
        return found;
    }

    /** {@code ip -4 rule add pref 5210 fwmark 0x80000/0xff0000 table main}, or its delete (by pref and action only). */
    static String ruleLine(boolean add, boolean ipv6, Rule r) {
        return "ip " + (ipv6 ? "-6" : "-4") + " rule " + (add ? "add " : "del ") + r.ipArgs(add);
    }

    private boolean addRules(boolean ipv6) throws IOException {
        for (Rule r : RULES) {
            int errno = nl.rule(true, ipv6, r);
            if (errno != 0) {
                if (ipv6) return false;
                throw new IOException(ruleLine(true, false, r) + " failed: " + Libc.strerror(errno));
            }
        }
        return true;
    }

    /** Whether the kernel has IPv6 on the interface (tailscale's interfaceV6UsableForTun). */
    private boolean ipv6Usable() {
        try {
            return "0".equals(sysctl.get("net/ipv6/conf/" + dev + "/disable_ipv6"));
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public synchronized void set(RouterConfig config) throws IOException {
        if (closed) return;
        Set<IpPrefix> wantAddrs = usable(config.localAddrs());
        Set<IpPrefix> wantRoutes = usable(config.routes());
        Set<IpPrefix> wantThrow = usable(config.localRoutes());
        List<Op> ops = new ArrayList<>();
        // Add before delete (tailscale's cidrDiff): an interface is never left without an address meanwhile.
        for (IpPrefix a : wantAddrs) {
            if (!addrs.contains(a)) ops.add(new Op(change(Kind.ADDRESS, true, a), () -> addrs.add(a)));
        }
        for (IpPrefix t : wantThrow) {
            if (!throwRoutes.contains(t)) ops.add(new Op(change(Kind.THROW, true, t), () -> throwRoutes.add(t)));
        }
        for (IpPrefix r : wantRoutes) {
            if (!routes.contains(r)) ops.add(new Op(change(Kind.ROUTE, true, r), () -> routes.add(r)));
        }
        for (IpPrefix r : List.copyOf(routes)) {
            if (!wantRoutes.contains(r)) ops.add(new Op(change(Kind.ROUTE, false, r), () -> routes.remove(r)));
        }
        for (IpPrefix t : List.copyOf(throwRoutes)) {
            if (!wantThrow.contains(t)) ops.add(new Op(change(Kind.THROW, false, t), () -> throwRoutes.remove(t)));
        }
        for (IpPrefix a : List.copyOf(addrs)) {
            if (!wantAddrs.contains(a)) ops.add(new Op(change(Kind.ADDRESS, false, a), () -> addrs.remove(a)));
        }
        List<String> failures = batch(ops);
        boolean wantSnat = config.snatSubnetRoutes();
        if (snat == null || snat != wantSnat) writeNft(wantSnat);
        if (!failures.isEmpty()) {
            throw new IOException(failures.size() + " of " + ops.size() + " route/address changes failed; first: " + failures.getFirst());
        }
    }

    private Change change(Kind kind, boolean add, IpPrefix p) {
        return new Change(kind, add, p, dev, TABLE);
    }

    /** One change, and what it changes in our bookkeeping once it succeeded. */
    private record Op(Change change, Runnable done) {}

    /** Sends {@code ops} at once; returns the failures (a missing route or address being deleted is none). */
    private List<String> batch(List<Op> ops) throws IOException {
        if (ops.isEmpty()) return List.of();
        List<Ack> acks = nl.apply(ops.stream().map(Op::change).toList());
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            Op o = ops.get(i);
            Ack a = acks.get(i);
            if (a.ok() || !o.change().add()) {
                o.done().run(); // a delete of what is already gone: tailscale ignores ESRCH the same way
            } else {
                failures.add(o.change() + ": " + NetlinkSocket.describe(a));
            }
        }
        if (!failures.isEmpty()) log.warn("route and address changes failed: {}", failures);
        return failures;
    }

    private Set<IpPrefix> usable(List<IpPrefix> ps) {
        Set<IpPrefix> out = new LinkedHashSet<>();
        for (IpPrefix p : ps) if (p.isIPv4() || v6) out.add(p);
        return out;
    }

    /** Our whole nftables table, as one transaction: created if missing, emptied, filled. */
    private void writeNft(boolean withSnat) throws IOException {
        if (!nftWorks) return;
        Result r = cmd.run(List.of("nft", "-f", "-"), nftRuleset(dev, withSnat));
        if (!r.ok()) {
            nftWorks = false;
            log.warn("nftables is unavailable ({}): no source NAT for offered routes, no forwarding marks and no drop of"
                    + " tailnet addresses arriving on other interfaces", r.output().strip());
            return;
        }
        snat = withSnat;
    }

    /** The ruleset {@code nft -f} loads; replacing the table in one transaction keeps it atomic. */
    static String nftRuleset(String dev, boolean snat) {
        String tun = "\"" + dev + "\"";
        String mask = String.format("0x%08x", MARK_MASK);
        String keep = String.format("0x%08x", ~MARK_MASK);
        String subnet = String.format("0x%08x", SUBNET_ROUTE_MARK);
        String bypass = String.format("0x%08x", BYPASS_MARK);
        return "table inet " + NFT_TABLE + " {}\n"
                + "delete table inet " + NFT_TABLE + "\n"
                + "table inet " + NFT_TABLE + " {\n"
                + "  chain input {\n"
                + "    type filter hook input priority filter; policy accept;\n"
                + "    iifname " + tun + " accept\n"
                + "    iifname != " + tun + " ip saddr " + CHROMEOS_VM_RANGE + " return\n"
                + "    iifname != " + tun + " ip saddr " + CGNAT + " drop\n"
                + "  }\n"
                + "  chain forward {\n"
                + "    type filter hook forward priority filter; policy accept;\n"
                + "    iifname " + tun + " meta mark set meta mark & " + keep + " | " + subnet + "\n"
                + "    meta mark & " + mask + " == " + subnet + " accept\n"
                + "    oifname " + tun + " ip saddr " + CGNAT + " drop\n"
                + "    oifname " + tun + " accept\n"
                + "  }\n"
                + "  chain postrouting {\n"
                + "    type nat hook postrouting priority srcnat; policy accept;\n"
                + (snat ? "    meta mark & " + mask + " == " + subnet + " masquerade\n" : "")
                + "  }\n"
                + "  chain prerouting {\n"
                + "    type filter hook prerouting priority mangle; policy accept;\n"
                + "    ct state established,related ct mark & " + mask + " == " + bypass
                + " meta mark set meta mark & " + keep + " | " + bypass + "\n"
                + "  }\n"
                + "  chain output {\n"
                + "    type filter hook output priority mangle; policy accept;\n"
                + "    ct state new meta mark & " + mask + " == " + bypass + " ct mark set ct mark & " + keep + " | " + bypass + "\n"
                + "  }\n"
                + "}\n";
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        List<Op> ops = new ArrayList<>();
        for (IpPrefix r : routes) ops.add(new Op(change(Kind.ROUTE, false, r), () -> {}));
        for (IpPrefix a : addrs) ops.add(new Op(change(Kind.ADDRESS, false, a), () -> {}));
        try {
            batch(ops);
            cleanUp();
        } catch (IOException e) {
            log.warn("cleaning up routes and rules: {}", e.getMessage());
        } finally {
            try {
                nl.close();
            } catch (IOException e) {
                log.debug("closing netlink: {}", e.getMessage());
            }
        }
        routes.clear();
        throwRoutes.clear();
        addrs.clear();
    }

    /** What is installed now (for tests and status). */
    public synchronized Set<IpPrefix> installedRoutes() {
        return Set.copyOf(routes);
    }

    private static final Map<String, String> PROGRAMS = new ConcurrentHashMap<>();

    /**
     * A program's path, looked up in PATH once: the JDK's process launch otherwise tries each PATH entry with an
     * execve of its own, every time. Null when PATH has no such program.
     */
    static String onPath(String name) {
        if (name.contains("/")) return name;
        String found = PROGRAMS.get(name);
        if (found != null) return found;
        String path = System.getenv("PATH");
        for (String d : (path == null || path.isEmpty() ? "/usr/sbin:/usr/bin:/sbin:/bin" : path).split(":")) {
            Path p = Path.of(d.isEmpty() ? "." : d, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                PROGRAMS.put(name, p.toString());
                return p.toString();
            }
        }
        return null;
    }

    static String hex(int v) {
        return "0x" + Integer.toHexString(v);
    }

    private static Result exec(List<String> argv, String stdin) throws IOException {
        String program = onPath(argv.getFirst());
        if (program == null) return new Result(127, argv.getFirst() + ": command not found");
        List<String> line = new ArrayList<>(argv);
        line.set(0, program);
        Process p;
        try {
            p = new ProcessBuilder(line).redirectErrorStream(true).start();
        } catch (IOException e) {
            PROGRAMS.remove(argv.getFirst()); // gone since it was found (an uninstall): look again next time
            return new Result(127, argv.getFirst() + ": " + e.getMessage());
        }
        try {
            if (stdin != null) {
                try (var os = p.getOutputStream()) {
                    os.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            } else {
                p.getOutputStream().close();
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timed out: " + String.join(" ", argv));
            }
            return new Result(p.exitValue(), out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", argv), e);
        }
    }
}
