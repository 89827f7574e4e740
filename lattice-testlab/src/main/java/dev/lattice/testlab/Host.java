package dev.lattice.testlab;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One network namespace of a {@link Lab}: a "host" with its own interfaces, addresses, routes, firewall and
 * processes. Created by {@link Lab#host(String)}; deleted when the lab closes.
 *
 * <p>Commands run via {@code ip netns exec NETNS ...}. Configuration methods throw {@link LabException} on
 * failure and return {@code this} so calls can be chained.
 */
public final class Host {
    private static final Pattern PING_STATS =
            Pattern.compile("(\\d+) packets transmitted, (\\d+) (?:packets )?received");
    private static final Pattern PING_RTT = Pattern.compile("= [\\d.]+/([\\d.]+)/[\\d.]+/[\\d.]+ ms");

    private final Lab lab;
    private final String name;
    private final String netns;
    private int nextDev;
    private boolean resolvConfRegistered;

    Host(Lab lab, String name, String netns) {
        this.lab = lab;
        this.name = name;
        this.netns = netns;
    }

    /** The short name given to {@link Lab#host(String)}. */
    public String name() {
        return name;
    }

    /** The namespace's real name ({@code lt-<labid>-<name>}), as {@code ip netns list} shows it. */
    public String netns() {
        return netns;
    }

    public Lab lab() {
        return lab;
    }

    synchronized String nextDevName(String prefix) {
        return prefix + nextDev++;
    }

    // ---------------------------------------------------------------- commands

    /** The argv prefix that runs a command in this namespace. */
    public List<String> prefix() {
        return List.of(Lab.ipBinary(), "netns", "exec", netns);
    }

    /** Runs a command here with {@link Exec#DEFAULT_TIMEOUT}; never throws for a non-zero exit. */
    public ExecResult exec(String... command) {
        return exec(Exec.DEFAULT_TIMEOUT, command);
    }

    /** Runs a command here; never throws for a non-zero exit or timeout (see {@link ExecResult}). */
    public ExecResult exec(Duration timeout, String... command) {
        return exec(timeout, null, Map.of(), Arrays.asList(command));
    }

    /**
     * The general form: runs {@code command} here with the given stdin text (or null) and extra environment.
     */
    public ExecResult exec(Duration timeout, String stdin, Map<String, String> env, List<String> command) {
        lab.checkOpen();
        List<String> argv = new ArrayList<>(prefix());
        argv.addAll(command);
        return Exec.run(timeout, stdin, env, argv);
    }

    /** Like {@link #exec(String...)} but throws {@link LabException} unless the command exits 0. */
    public ExecResult execChecked(String... command) {
        return exec(command).orThrow();
    }

    /** Like {@link #exec(Duration, String...)} but throws {@link LabException} unless the command exits 0. */
    public ExecResult execChecked(Duration timeout, String... command) {
        return exec(timeout, command).orThrow();
    }

    /** Runs a bash script here ({@code bash -c script}). */
    public ExecResult bash(Duration timeout, String script) {
        return exec(timeout, "bash", "-c", script);
    }

    /**
     * Starts a long-running command here. Its stdout and stderr go to {@code <lab workdir>/<host>-<label>.log};
     * it is killed when the lab closes, if not before.
     *
     * @param label a short name for the log file and messages, e.g. {@code "iperf3-server"}
     */
    public BackgroundProcess spawn(String label, String... command) {
        return spawn(label, Map.of(), Arrays.asList(command));
    }

    /** {@link #spawn(String, String...)} with extra environment variables. */
    public BackgroundProcess spawn(String label, Map<String, String> env, List<String> command) {
        lab.checkOpen();
        List<String> argv = new ArrayList<>(prefix());
        argv.addAll(command);
        Path log = lab.newLogFile(name + "-" + label);
        ProcessBuilder pb = new ProcessBuilder(argv)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new LabException("cannot start `" + String.join(" ", argv) + "`: " + e.getMessage(), e);
        }
        BackgroundProcess bp = new BackgroundProcess(this, label, argv, p, log);
        lab.register(bp);
        return bp;
    }

    /** PIDs of all processes currently in this namespace ({@code ip netns pids}). */
    public List<Long> pids() {
        ExecResult r = Exec.run(Lab.ipBinary(), "netns", "pids", netns);
        return r.stdout().lines().map(String::strip).filter(s -> !s.isEmpty()).map(Long::parseLong).toList();
    }

    // ---------------------------------------------------------------- interfaces, addresses, routes

    /** Sets a device up ({@code ip link set DEV up}). */
    public Host up(String dev) {
        ip("link", "set", dev, "up");
        return this;
    }

    /** Sets a device down. */
    public Host down(String dev) {
        ip("link", "set", dev, "down");
        return this;
    }

    /**
     * Adds an IPv4 or IPv6 address in CIDR form ({@code 10.0.0.1/24}, {@code fd00::1/64}). IPv6 addresses are
     * added with {@code nodad} so they are usable at once.
     */
    public Host addAddress(String dev, String cidr) {
        if (cidr.contains(":")) {
            ip("-6", "addr", "add", cidr, "dev", dev, "nodad");
        } else {
            ip("addr", "add", cidr, "dev", dev);
        }
        return this;
    }

    /** Removes an address added with {@link #addAddress}. */
    public Host removeAddress(String dev, String cidr) {
        ip("addr", "del", cidr, "dev", dev);
        return this;
    }

    /** Adds a route; {@code via} or {@code dev} may be null (but not both). */
    public Host addRoute(String prefix, String via, String dev) {
        List<String> args = new ArrayList<>(List.of(prefix.contains(":") ? "-6" : "-4", "route", "add", prefix));
        if (via != null) {
            args.addAll(List.of("via", via));
        }
        if (dev != null) {
            args.addAll(List.of("dev", dev));
        }
        ip(args.toArray(String[]::new));
        return this;
    }

    /** Adds a route via a gateway. */
    public Host addRoute(String prefix, String via) {
        return addRoute(prefix, via, null);
    }

    /** Sets the default route (IPv4 or IPv6 according to {@code via}). */
    public Host defaultRoute(String via) {
        return addRoute(via.contains(":") ? "::/0" : "0.0.0.0/0", via, null);
    }

    /** Runs {@code ip ARGS...} here and throws unless it succeeds. */
    public ExecResult ip(String... args) {
        List<String> argv = new ArrayList<>(List.of(Lab.ipBinary(), "-n", netns));
        argv.addAll(Arrays.asList(args));
        lab.checkOpen();
        return Exec.run(Exec.DEFAULT_TIMEOUT, null, Map.of(), argv).orThrow();
    }

    /** True if the device exists here. */
    public boolean hasLink(String dev) {
        return Exec.run(Lab.ipBinary(), "-n", netns, "link", "show", "dev", dev).ok();
    }

    /** Names of all devices here. */
    public List<String> links() {
        return Exec.run(Lab.ipBinary(), "-n", netns, "-o", "link", "show").stdout().lines()
                .map(l -> l.split(":", 3)[1].strip())
                .map(n -> n.contains("@") ? n.substring(0, n.indexOf('@')) : n)
                .toList();
    }

    /** Polls until the device exists; false if it did not appear within {@code timeout}. */
    public boolean waitForLink(String dev, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!hasLink(dev)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Lab.sleep(Duration.ofMillis(50));
        }
        return true;
    }

    /** Sets a sysctl here ({@code sysctl -w key=value}); net.* keys are per namespace. */
    public Host sysctl(String key, String value) {
        execChecked("sysctl", "-q", "-w", key + "=" + value);
        return this;
    }

    /** Turns on IPv4 and IPv6 forwarding here (to act as a router). */
    public Host enableForwarding() {
        sysctl("net.ipv4.ip_forward", "1");
        sysctl("net.ipv6.conf.all.forwarding", "1");
        return this;
    }

    // ---------------------------------------------------------------- files

    /**
     * Writes {@code /etc/netns/<netns>/resolv.conf}, which {@code ip netns exec} bind-mounts over
     * {@code /etc/resolv.conf} for every command started here afterwards (so a DNS manager inside the host sees
     * and edits its own file, not the machine's). Removed, with its directory, when the lab closes.
     */
    public Host resolvConf(String content) {
        lab.checkOpen();
        Path dir = Path.of("/etc/netns", netns);
        Path file = dir.resolve("resolv.conf");
        try {
            Files.createDirectories(dir);
            synchronized (this) {
                if (!resolvConfRegistered) {
                    // file first, then the then-empty directory
                    lab.deleteOnClose(file);
                    lab.deleteOnClose(dir);
                    resolvConfRegistered = true;
                }
            }
            Files.writeString(file, content, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new LabException("cannot write " + file + ": " + e.getMessage(), e);
        }
        return this;
    }

    /** The path of this host's resolv.conf as seen from outside ({@link #resolvConf(String)}). */
    public Path resolvConfPath() {
        return Path.of("/etc/netns", netns, "resolv.conf");
    }

    // ---------------------------------------------------------------- firewall

    /**
     * Loads an nftables ruleset here ({@code nft -f -}), e.g.
     * <pre>{@code
     * host.nft("""
     *     table inet filter {
     *       chain input { type filter hook input priority 0; udp dport 51820 drop; }
     *     }""");
     * }</pre>
     */
    public Host nft(String ruleset) {
        lab.checkOpen();
        List<String> argv = new ArrayList<>(prefix());
        argv.addAll(List.of("nft", "-f", "-"));
        Exec.run(Exec.DEFAULT_TIMEOUT, ruleset, Map.of(), argv).orThrow();
        return this;
    }

    /** Removes every nftables rule here. */
    public Host nftFlush() {
        execChecked("nft", "flush", "ruleset");
        return this;
    }

    /** The current nftables ruleset here ({@code nft list ruleset}). */
    public String nftRuleset() {
        return execChecked("nft", "list", "ruleset").stdout();
    }

    // ---------------------------------------------------------------- probing

    /** Result of {@link #ping}. {@code avgRttMillis} is NaN if nothing came back. */
    public record PingResult(int transmitted, int received, double avgRttMillis, ExecResult exec) {
        public boolean anyReceived() {
            return received > 0;
        }

        public boolean allReceived() {
            return transmitted > 0 && received == transmitted;
        }
    }

    /**
     * Pings {@code address} (IPv4 or IPv6) {@code count} times, 0.2 s apart, waiting up to {@code replyWait}
     * for each reply. Never throws for loss.
     */
    public PingResult ping(String address, int count, Duration replyWait) {
        double waitSeconds = Math.max(0.1, replyWait.toMillis() / 1000.0);
        Duration timeout = replyWait.multipliedBy(count).plusSeconds(5 + count);
        ExecResult r = exec(timeout, "ping", "-n", "-c", Integer.toString(count), "-i", "0.2",
                "-W", String.format(java.util.Locale.ROOT, "%.1f", waitSeconds), address);
        Matcher m = PING_STATS.matcher(r.stdout());
        int tx = 0;
        int rx = 0;
        if (m.find()) {
            tx = Integer.parseInt(m.group(1));
            rx = Integer.parseInt(m.group(2));
        }
        Matcher rtt = PING_RTT.matcher(r.stdout());
        double avg = rtt.find() ? Double.parseDouble(rtt.group(1)) : Double.NaN;
        return new PingResult(tx, rx, avg, r);
    }

    @Override
    public String toString() {
        return name + " [" + netns + "]";
    }
}
