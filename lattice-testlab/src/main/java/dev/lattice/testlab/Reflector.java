package dev.lattice.testlab;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Tiny python3 servers and clients that show how a NAT rewrote a connection: a reflector answers each query with
 * the source {@code ip:port} it saw. Used to check what a {@link Router} does; needs {@code python3} in the lab
 * (check with {@code Lab.support("python3")}).
 *
 * <p>Queries are datagrams starting with {@code ?}; anything else is ignored, so two reflectors never echo each
 * other forever.
 */
public final class Reflector {
    private static final String UDP_SERVER = """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", int(sys.argv[1])))
            for t in sys.argv[2:]:
                h, p = t.rsplit(":", 1)
                s.sendto(b"hello", (h, int(p)))
            print("ready", flush=True)
            while True:
                d, a = s.recvfrom(2048)
                print("from %s:%d %r" % (a[0], a[1], d[:16]), flush=True)
                if d.startswith(b"?"):
                    s.sendto(("%s:%d" % a).encode(), a)
            """;

    private static final String TCP_SERVER = """
            import socket, sys
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", int(sys.argv[1])))
            s.listen(16)
            print("ready", flush=True)
            while True:
                c, a = s.accept()
                c.sendall(("%s:%d" % a).encode())
                c.close()
            """;

    // one connected socket per target, each bound to the same local port in turn: a connected socket also
    // reports ICMP port-unreachable ("refused"), which tells a silent drop from a rejection
    private static final String ASK = """
            import socket, sys
            proto, lport, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
            for t in sys.argv[4:]:
                h, p = t.rsplit(":", 1)
                udp = proto == "udp"
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("0.0.0.0", lport))
                s.settimeout(wait / 3 if udp else wait)
                res = "timeout"
                try:
                    s.connect((h, int(p)))
                    for i in range(3 if udp else 1):
                        try:
                            if udp:
                                s.send(b"?")
                            res = "ok " + s.recv(2048).decode()
                            break
                        except socket.timeout:
                            pass
                except ConnectionRefusedError:
                    res = "refused"
                except socket.timeout:
                    res = "timeout"
                except OSError as e:
                    res = "error " + str(e).replace(" ", "_")
                s.close()
                print(t, res, flush=True)
            """;

    private Reflector() {
    }

    /**
     * The answer to one query.
     *
     * @param target  the {@code ip:port} queried
     * @param seen    the source {@code ip:port} the reflector saw, or null if it did not answer
     * @param failure null if answered, else {@code timeout} (silently dropped), {@code refused} (ICMP
     *                port-unreachable or TCP reset came back) or {@code error_...}
     */
    public record Answer(String target, String seen, String failure) {
        public boolean answered() {
            return seen != null;
        }

        /** The address part of {@link #seen()}. */
        public String seenAddress() {
            requireAnswered();
            return seen.substring(0, seen.lastIndexOf(':'));
        }

        /** The port part of {@link #seen()}. */
        public int seenPort() {
            requireAnswered();
            return Integer.parseInt(seen.substring(seen.lastIndexOf(':') + 1));
        }

        private void requireAnswered() {
            if (seen == null) {
                throw new IllegalStateException("no answer from " + target + ": " + failure);
            }
        }
    }

    /**
     * Starts a UDP reflector on {@code host}, port {@code port}, and waits until it listens. It first sends one
     * non-query datagram from that port to each of {@code helloTargets} ({@code ip:port}), which opens NAT
     * mappings (and conntrack state) towards them. Its output (log) lists every datagram received.
     */
    public static BackgroundProcess udp(Host host, int port, String... helloTargets) {
        List<String> cmd = new ArrayList<>(List.of("python3", "-u", "-c", UDP_SERVER, Integer.toString(port)));
        cmd.addAll(List.of(helloTargets));
        return started(host.spawn("udp-reflector-" + port, java.util.Map.of(), cmd));
    }

    /** Starts a TCP reflector on {@code host}, port {@code port}, and waits until it listens. */
    public static BackgroundProcess tcp(Host host, int port) {
        return started(host.spawn("tcp-reflector-" + port, java.util.Map.of(),
                List.of("python3", "-u", "-c", TCP_SERVER, Integer.toString(port))));
    }

    /**
     * From {@code host}, queries UDP reflectors at {@code targets} ({@code ip:port}) one after the other, each
     * from local port {@code localPort} (0: any), trying 3 times within {@code perTarget}.
     */
    public static List<Answer> askUdp(Host host, int localPort, Duration perTarget, String... targets) {
        return ask(host, "udp", localPort, perTarget, targets);
    }

    /** From {@code host}, asks the TCP reflector at {@code target} ({@code ip:port}), waiting {@code timeout}. */
    public static Answer askTcp(Host host, String target, Duration timeout) {
        return ask(host, "tcp", 0, timeout, target).getFirst();
    }

    private static List<Answer> ask(Host host, String proto, int localPort, Duration perTarget, String... targets) {
        if (targets.length == 0) {
            throw new IllegalArgumentException("no targets");
        }
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", ASK, proto, Integer.toString(localPort),
                String.format(Locale.ROOT, "%.3f", perTarget.toMillis() / 1000.0)));
        cmd.addAll(List.of(targets));
        ExecResult r = host.exec(perTarget.multipliedBy(targets.length).plusSeconds(10), null, java.util.Map.of(),
                cmd).orThrow();
        List<Answer> answers = new ArrayList<>();
        for (String line : r.stdout().lines().toList()) {
            String[] f = line.split(" ", 3);
            if (f.length < 2) {
                throw new LabException("unexpected probe output: " + r.describe());
            }
            answers.add(f[1].equals("ok") && f.length == 3
                    ? new Answer(f[0], f[2].strip(), null)
                    : new Answer(f[0], null, f[1]));
        }
        if (answers.size() != targets.length) {
            throw new LabException("expected " + targets.length + " answers: " + r.describe());
        }
        return answers;
    }

    private static BackgroundProcess started(BackgroundProcess p) {
        if (!p.waitForOutput("ready", Duration.ofSeconds(10))) {
            p.stop();
            throw new LabException(p + " did not start: " + p.tail(20));
        }
        return p;
    }
}
