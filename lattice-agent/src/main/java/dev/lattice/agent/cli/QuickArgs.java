package dev.lattice.agent.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The command lines {@link QuickCli} runs: {@code status}, {@code ip}, {@code version}, {@code ping} and {@code up} in
 * their plain forms. A command line is accepted only when its meaning under {@link LatticeCli}'s picocli parser is certain: known
 * options in their usual spellings, each at most once, and the right number of operands. Everything else (other
 * commands, {@code --help}, clustered or abbreviated flags, every usage error) is {@link LatticeCli}'s to parse and
 * answer, so no error message is duplicated here. Loads no picocli and no Jackson: {@link CliMain} parses with it
 * in the {@code lattice} process.
 */
final class QuickArgs {
    private QuickArgs() {}

    /** A parsed command line; {@code socket} null means the default. */
    sealed interface Parsed permits Version, Daemon {}

    /** A command that reads the daemon's state: the daemon runs it ({@link QuickCli}). */
    sealed interface Daemon extends Parsed permits StatusArgs, IpArgs, PingArgs, UpArgs {
        Path socket();
    }

    /** Plain {@code version}: the client's own, no daemon needed. */
    record Version() implements Parsed {}

    record StatusArgs(Path socket, boolean json, boolean self, boolean peers, boolean header, boolean active) implements Daemon {}

    record IpArgs(Path socket, boolean want4, boolean want6, boolean want1, List<String> args) implements Daemon {}

    record PingArgs(Path socket, int count, Duration timeout, boolean untilDirect, boolean verbose, String target)
            implements Daemon {}

    /**
     * {@code up}'s flags; null for one not given. {@code authKey} is as given ({@code file:PATH} included): the
     * {@code lattice} process reads such a file and sends the key in its place ({@link #withAuthKey}).
     */
    record UpArgs(Path socket, String loginServer, String authKey, String hostname, String advertiseTags,
            Boolean acceptRoutes, Boolean acceptDns, boolean reset, Duration timeout, RouteFlags routes) implements Daemon {
        /** Without the key: a record's own toString would put it into whatever prints this. */
        @Override
        public String toString() {
            return "UpArgs[loginServer=" + loginServer + ", authKey=" + (authKey == null ? "none" : "(hidden)") + ", hostname="
                    + hostname + ", advertiseTags=" + advertiseTags + ", acceptRoutes=" + acceptRoutes + ", acceptDns=" + acceptDns
                    + ", reset=" + reset + ", timeout=" + timeout + ", routes=" + routes + "]";
        }
    }

    /** {@code up}'s options that take a value, in both spellings ({@code --opt v}, {@code --opt=v}). */
    private static final String[] UP_VALUED = {"--login-server", "--authkey", "--hostname", "--advertise-tags", "--timeout",
        "--advertise-routes", "--exit-node"};
    /** {@code up}'s booleans with an optional {@code =true}/{@code =false}. */
    private static final String[] UP_BOOLS = {"--accept-routes", "--accept-dns", "--advertise-exit-node",
        "--exit-node-allow-lan-access", "--shields-up", "--snat-subnet-routes"};

    /** The command, or null when this command line is {@link LatticeCli}'s (not one of ours, unusual or wrong). */
    static Parsed parse(List<String> argv) {
        String[] args = argv.toArray(String[]::new);
        Path socket = null;
        int i = 0;
        for (; i < args.length && args[i].startsWith("-"); i++) {
            if (socket != null) return null; // picocli refuses a repeated option: let it say so
            String v = socketValue(args, i);
            if (v == null) return null;
            socket = Path.of(v);
            if (!args[i].contains("=")) i++;
        }
        if (i >= args.length) return null;
        String name = args[i];
        Opts o = new Opts(socket);
        List<String> operands = new ArrayList<>();
        for (i++; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-")) return null;
            if (!a.startsWith("-")) {
                operands.add(a);
                continue;
            }
            int eq = a.indexOf('=');
            String flag = eq < 0 ? a : a.substring(0, eq);
            if (name.equals("up") && flag.equals("--auth-key")) flag = "--authkey"; // one option, two names
            String value = eq < 0 ? null : a.substring(eq + 1);
            if (flag.equals("--socket")) {
                if (o.socketGiven) return null;
                String v = socketValue(args, i);
                if (v == null) return null;
                o.socket = Path.of(v);
                o.socketGiven = true;
                if (value == null) i++;
                continue;
            }
            // A bare optional-boolean flag followed by "true"/"false": picocli takes that word as the flag's
            // value; not worth reproducing.
            boolean nextIsBool = i + 1 < args.length && isBool(args[i + 1]);
            boolean ok = switch (name) {
                case "version" -> false; // --daemon asks the daemon for its version: LatticeCli's
                case "status" -> o.flag(flag, value, "--json", "--header", "--active")
                        || o.optionalBool(flag, value, nextIsBool, "--self", "--peers");
                case "ip" -> o.flag(flag, value, "-4", "-6", "-1");
                case "ping" -> o.flag(flag, value, "--verbose")
                        || o.optionalBool(flag, value, nextIsBool, "--until-direct")
                        || o.valued(flag, value, args, i, "-c", "--timeout");
                case "up" -> o.flag(flag, value, "--reset")
                        || o.optionalBool(flag, value, nextIsBool, UP_BOOLS)
                        || o.valued(flag, value, args, i, UP_VALUED);
                default -> false;
            };
            if (!ok) return null;
            if (o.consumedNext) {
                i++;
                o.consumedNext = false;
            }
        }
        try {
            return switch (name) {
                case "version" -> operands.isEmpty() ? new Version() : null;
                case "status" -> operands.isEmpty()
                        ? new StatusArgs(o.socket, o.has("--json"), o.bool("--self", true), o.bool("--peers", true),
                                o.has("--header"), o.has("--active"))
                        : null;
                case "ip" -> new IpArgs(o.socket, o.has("-4"), o.has("-6"), o.has("-1"), List.copyOf(operands));
                case "ping" -> operands.size() == 1
                        ? new PingArgs(o.socket, o.count(), o.duration("--timeout", "5s"), o.bool("--until-direct", true),
                                o.has("--verbose"), operands.getFirst())
                        : null;
                case "up" -> operands.isEmpty()
                        ? new UpArgs(o.socket, o.seen.get("--login-server"), o.seen.get("--authkey"), o.seen.get("--hostname"),
                                o.seen.get("--advertise-tags"), o.optBool("--accept-routes"), o.optBool("--accept-dns"),
                                o.has("--reset"), o.duration("--timeout", "0s"),
                                new RouteFlags(o.seen.get("--advertise-routes"), o.optBool("--advertise-exit-node"),
                                        o.seen.get("--exit-node"), o.optBool("--exit-node-allow-lan-access"),
                                        o.optBool("--shields-up"), o.optBool("--snat-subnet-routes")))
                        : null;
                default -> null;
            };
        } catch (IllegalArgumentException e) {
            return null; // a value picocli would refuse (its message then)
        }
    }

    /**
     * The command line {@code args} (as {@link #parse} took it, an {@code up} with an {@code --authkey}) with the key's
     * value replaced by {@code key}: what the {@code lattice} process sends latticed after reading a key file.
     */
    static String[] withAuthKey(String[] args, String key) {
        String[] out = args.clone();
        for (int i = 0; i < out.length; i++) {
            String a = out[i];
            // Values never start with '-' here (parse leaves those to picocli), so a token that is the option is one.
            if (a.equals("--authkey") || a.equals("--auth-key")) {
                out[i + 1] = key;
                return out;
            }
            if (a.startsWith("--authkey=") || a.startsWith("--auth-key=")) {
                out[i] = "--authkey=" + key;
                return out;
            }
        }
        throw new IllegalArgumentException("no --authkey option");
    }

    /** The value of a {@code --socket} option at {@code args[i]}, or null when it is not that option or has none. */
    private static String socketValue(String[] args, int i) {
        String a = args[i];
        String v = null;
        if (a.startsWith("--socket=")) v = a.substring("--socket=".length());
        else if (a.equals("--socket") && i + 1 < args.length && !args[i + 1].startsWith("-")) v = args[i + 1];
        return v == null || v.isEmpty() ? null : v;
    }

    private static boolean isBool(String s) {
        return s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false");
    }

    /** Options seen after the command name. */
    private static final class Opts {
        Path socket;
        boolean socketGiven;
        boolean consumedNext;
        final Map<String, String> seen = new HashMap<>();

        Opts(Path socket) {
            this.socket = socket;
        }

        /** A flag without a value ({@code --json}); "=value" forms and repeats are picocli's. */
        boolean flag(String flag, String value, String... names) {
            if (value != null || !List.of(names).contains(flag)) return false;
            return seen.putIfAbsent(flag, "") == null;
        }

        /** A boolean with an optional {@code =true}/{@code =false}. */
        boolean optionalBool(String flag, String value, boolean nextIsBool, String... names) {
            if (!List.of(names).contains(flag) || seen.containsKey(flag)) return false;
            if (value == null) {
                if (nextIsBool) return false;
                seen.put(flag, "true");
                return true;
            }
            if (!isBool(value)) return false;
            seen.put(flag, value.toLowerCase(Locale.ROOT));
            return true;
        }

        /** An option with a value, as {@code -c 3}, {@code -c=3}, {@code --timeout 2s} or {@code --timeout=2s}. */
        boolean valued(String flag, String value, String[] args, int i, String... names) {
            if (!List.of(names).contains(flag) || seen.containsKey(flag)) return false;
            if (value == null) {
                if (i + 1 >= args.length || args[i + 1].startsWith("-")) return false;
                value = args[i + 1];
                consumedNext = true;
            }
            seen.put(flag, value);
            return true;
        }

        boolean has(String flag) {
            return seen.containsKey(flag);
        }

        /** A boolean given ({@code --flag} is true), or null when it was not. */
        Boolean optBool(String flag) {
            String v = seen.get(flag);
            return v == null ? null : v.equals("true");
        }

        boolean bool(String flag, boolean dflt) {
            String v = seen.get(flag);
            return v == null ? dflt : v.equals("true");
        }

        int count() {
            String v = seen.getOrDefault("-c", "10");
            // Digits only, no sign and no leading zeros: what picocli reads the same way.
            if (!v.matches("0|[1-9][0-9]{0,8}")) throw new IllegalArgumentException(v);
            return Integer.parseInt(v);
        }

        Duration duration(String flag, String dflt) {
            return GoDuration.parse(seen.getOrDefault(flag, dflt));
        }
    }
}
