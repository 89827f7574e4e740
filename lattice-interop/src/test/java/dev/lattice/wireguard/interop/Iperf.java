package dev.lattice.wireguard.interop;

import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.LabException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs one iperf3 TCP test between two lab hosts and reads its JSON report. */
final class Iperf {
    private static final Pattern SUM_RECEIVED = Pattern.compile("\"sum_received\"\\s*:\\s*\\{([^{}]*)}");
    private static final Pattern SUM_SENT = Pattern.compile("\"sum_sent\"\\s*:\\s*\\{([^{}]*)}");
    private static final Pattern INTERVAL_SUM = Pattern.compile("\"sum\"\\s*:\\s*\\{([^{}]*)}");
    private static final Pattern BYTES = Pattern.compile("\"bytes\"\\s*:\\s*(\\d+)");
    private static final Pattern SECONDS = Pattern.compile("\"seconds\"\\s*:\\s*([\\d.eE+-]+)");
    private static final Pattern ERROR = Pattern.compile("\"error\"\\s*:\\s*\"([^\"]*)\"");

    /**
     * What one run did.
     *
     * @param intervalBytes bytes sent in each reporting interval (1 s), from the client's view
     */
    record Result(ExecResult client, String serverLog, long bytesSent, long bytesReceived, double seconds,
                  List<Long> intervalBytes, String error) {
        boolean clientOk() {
            return client.ok();
        }

        long zeroIntervals() {
            return intervalBytes.stream().filter(b -> b == 0).count();
        }

        String describe() {
            return "iperf3: sent " + bytesSent + " B, received " + bytesReceived + " B in " + seconds + " s, "
                    + intervalBytes.size() + " intervals (" + zeroIntervals() + " empty)"
                    + (error.isEmpty() ? "" : ", error: " + error) + "\nclient: `" + String.join(" ", client.command())
                    + "` -> " + (client.timedOut() ? "timed out" : "exit " + client.exitCode())
                    + "\nclient stderr: " + client.stderr().strip() + "\nserver log:\n" + serverLog.strip();
        }
    }

    private Iperf() {}

    /**
     * Starts a one-shot iperf3 server in {@code server} bound to {@code serverAddress}, waits until it listens,
     * then runs {@code iperf3 -c serverAddress -J clientArgs...} in {@code client}.
     */
    static Result run(Host server, String serverAddress, Host client, Duration timeout, String... clientArgs) {
        int port = 5201;
        BackgroundProcess srv = server.spawn("iperf3-server", "iperf3", "-s", "-1", "-B", serverAddress,
                "-p", Integer.toString(port));
        try {
            waitListening(server, port, srv);
            List<String> argv = new ArrayList<>(List.of("iperf3", "-c", serverAddress, "-p", Integer.toString(port),
                    "-J", "--connect-timeout", "5000"));
            argv.addAll(List.of(clientArgs));
            ExecResult r = client.exec(timeout, null, java.util.Map.of(), argv);
            srv.waitFor(Duration.ofSeconds(3));
            return parse(r, srv.output());
        } finally {
            srv.stop();
        }
    }

    private static void waitListening(Host server, int port, BackgroundProcess srv) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            ExecResult ss = server.exec("ss", "-Hltn", "sport = :" + port);
            if (ss.ok() && !ss.stdout().isBlank()) {
                return;
            }
            if (!srv.isAlive() || System.nanoTime() > deadline) {
                throw new LabException("iperf3 server did not start listening; its output:\n" + srv.output());
            }
            Lab.sleep(Duration.ofMillis(50));
        }
    }

    static Result parse(ExecResult r, String serverLog) {
        String json = r.stdout();
        long sent = 0;
        long received = 0;
        double seconds = 0;
        Matcher m = SUM_SENT.matcher(json);
        if (m.find()) {
            sent = firstLong(BYTES, m.group(1));
        }
        m = SUM_RECEIVED.matcher(json);
        if (m.find()) {
            received = firstLong(BYTES, m.group(1));
            Matcher s = SECONDS.matcher(m.group(1));
            seconds = s.find() ? Double.parseDouble(s.group(1)) : 0;
        }
        List<Long> intervals = new ArrayList<>();
        m = INTERVAL_SUM.matcher(json);
        while (m.find()) {
            intervals.add(firstLong(BYTES, m.group(1)));
        }
        Matcher e = ERROR.matcher(json);
        return new Result(r, serverLog, sent, received, seconds, List.copyOf(intervals), e.find() ? e.group(1) : "");
    }

    private static long firstLong(Pattern p, String s) {
        Matcher m = p.matcher(s);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }
}
