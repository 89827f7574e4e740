package dev.lattice.derp.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DerperCommandTest {
    @org.junit.jupiter.api.io.TempDir
    java.nio.file.Path dir;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int code = DerperCommand.run(args, new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
                new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        return new Result(code, out.toString(java.nio.charset.StandardCharsets.UTF_8), err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** The whole (one-command) tree: every help spelling shows every flag; wrong usage is one line, exit 2. */
    @Test
    void helpListsEveryFlagAndWrongUsageIsOneLine() {
        Result help = run("--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).startsWith("Usage: lattice-derper");
        for (var o : new CommandLine(new DerperCommand()).getCommandSpec().options()) {
            if (!o.hidden()) assertThat(help.out()).as(o.longestName()).contains(o.longestName());
        }
        assertThat(run("-h")).isEqualTo(help);
        assertThat(run("-help")).isEqualTo(help);
        Result version = run("--version");
        assertThat(version.code()).isZero();
        assertThat(version.out()).startsWith("lattice-derper ");

        for (String[] wrong : new String[][] {{"--bogus"}, {"-a"}, {"--stun-port=abc"}, {"extra"}, {"-a", "nonsense"},
                {"--dev", "--mesh-with", "x.example"}}) {
            Result r = run(wrong);
            assertThat(r.code()).as(String.join(" ", wrong)).isEqualTo(2);
            assertThat(r.out()).isEmpty();
            assertThat(r.err()).as(String.join(" ", wrong)).startsWith("lattice-derper: ").hasLineCount(1)
                    .endsWith("(see 'lattice-derper --help')\n");
        }
    }

    @Test
    void acceptsGoStyleFlags() {
        DerperCommand c = new DerperCommand();
        new CommandLine(c).parseArgs("-a", "127.0.0.1:3340", "-stun-port", "3479", "--stun=false", "-certmode", "manual",
                "--certdir", "/tmp/c", "-hostname", "derp.example", "--mesh-with", "a.example,b.example/10.0.0.2",
                "-verify-client-url", "http://ctl/verify", "--tcp-write-timeout", "1m30s");
        assertThat(c.addr).isEqualTo("127.0.0.1:3340");
        assertThat(c.stunPort).isEqualTo(3479);
        assertThat(c.stun).isFalse();
        assertThat(c.meshWith).containsExactly("a.example", "b.example/10.0.0.2");
        assertThat(c.writeTimeout).isEqualTo(Duration.ofSeconds(90));
        assertThat(c.verifyFailOpen).isTrue();
    }

    @Test
    void addressesAndMeshEntriesParseLikeDerper() {
        assertThat(DerperCommand.parseAddr(":443")).isEqualTo(new InetSocketAddress(443));
        assertThat(DerperCommand.parseAddr("[::1]:80").getAddress().isLoopbackAddress()).isTrue();
        assertThat(DerperCommand.meshUrl("derp1.example")).isEqualTo(URI.create("https://derp1.example/derp"));
        assertThat(DerperCommand.meshUrl("derp1.example/10.1.1.1")).isEqualTo(URI.create("https://10.1.1.1/derp"));
        assertThat(DerperCommand.meshUrl("http://127.0.0.1:3340/derp")).isEqualTo(URI.create("http://127.0.0.1:3340/derp"));
        assertThat(new DerperCommand.GoDuration().convert("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(new DerperCommand.GoDuration().convert("0")).isEqualTo(Duration.ZERO);
    }

    static String get(java.net.URI u) throws Exception {
        try (var http = java.net.http.HttpClient.newHttpClient()) {
            var r = http.send(java.net.http.HttpRequest.newBuilder(u).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            return r.statusCode() + " " + r.body();
        }
    }

    /** The value of one sample line ({@code name{labels} value}) in a scrape, or -1 when it is missing. */
    static double sample(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) return Double.parseDouble(line.substring(series.length() + 1).trim());
        }
        return -1;
    }

    /** {@code --metrics ADDR}: the relay's, STUN's, listener's, JVM's and process's metrics; counters move with traffic. */
    @Test
    void metricsFlagServesPrometheusTextThatMovesWithTraffic() throws Exception {
        int stunPort;
        try (var s = new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
            stunPort = s.getLocalPort();
        }
        DerperCommand c = new DerperCommand();
        new CommandLine(c).parseArgs("-c", dir.resolve("derper.key").toString(), "-a", "127.0.0.1:0", "--stun-port", Integer.toString(stunPort), "--metrics", "127.0.0.1:0");
        try (DerperCommand.Running r = c.start(); dev.lattice.derp.Loopback lab = new dev.lattice.derp.Loopback()) {
            java.net.URI metrics = java.net.URI.create("http://" + dev.lattice.wire.ip.IpPrefix.hostPort(r.metrics().localAddress()) + "/metrics");
            String before = get(metrics);
            assertThat(before).startsWith("200 ");
            assertThat(sample(before, "lattice_derp_packets_total{direction=\"received\"}")).isZero();
            for (String family : java.util.List.of("jvm_memory_used_bytes", "process_cpu_seconds_total", "jvm_threads_current",
                    "lattice_http_connections_open", "lattice_stun_requests_total", "lattice_derp_connections")) {
                assertThat(before).as(family).contains("\n" + family);
            }

            var url = java.net.URI.create("http://127.0.0.1:" + r.http().boundAddress().getPort() + "/derp");
            dev.lattice.derp.Recorder ra = new dev.lattice.derp.Recorder(), rb = new dev.lattice.derp.Recorder();
            var opts = dev.lattice.derp.client.DerpClientOptions.defaults().withReconnect(false);
            var a = lab.client(url, dev.lattice.crypto.key.NodePrivateKey.generate(), opts, ra);
            var b = lab.client(url, dev.lattice.crypto.key.NodePrivateKey.generate(), opts, rb);
            a.connect().get(5, java.util.concurrent.TimeUnit.SECONDS);
            b.connect().get(5, java.util.concurrent.TimeUnit.SECONDS);
            for (int i = 0; i < 10; i++) a.send(b.publicKey(), new byte[100]);
            for (int i = 0; i < 10; i++) assertThat(rb.next(Duration.ofSeconds(5))).isNotNull();
            a.send(dev.lattice.crypto.key.NodePrivateKey.generate().publicKey(), new byte[] {1});
            byte[] stunReq = dev.lattice.wire.stun.Stun.request(dev.lattice.wire.stun.Stun.TxId.random());
            try (var s = new java.net.DatagramSocket()) {
                s.send(new java.net.DatagramPacket(stunReq, stunReq.length, java.net.InetAddress.getLoopbackAddress(), stunPort));
                s.setSoTimeout(5000);
                s.receive(new java.net.DatagramPacket(new byte[512], 512));
            }
            String after = "";
            long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < end && sample(after, "lattice_derp_packets_total{direction=\"sent\"}") < 10) after = get(metrics);
            assertThat(sample(after, "lattice_derp_packets_total{direction=\"received\"}")).isEqualTo(11);
            assertThat(sample(after, "lattice_derp_packets_total{direction=\"sent\"}")).isEqualTo(10);
            assertThat(sample(after, "lattice_derp_bytes_total{direction=\"sent\"}")).isEqualTo(1000);
            assertThat(sample(after, "lattice_derp_packets_dropped_total{reason=\"unknown_dest\"}")).isEqualTo(1);
            assertThat(sample(after, "lattice_derp_connections")).isEqualTo(2);
            assertThat(sample(after, "lattice_stun_requests_total{result=\"answered\"}")).isEqualTo(1);
            assertThat(sample(after, "lattice_http_connections_open")).isGreaterThanOrEqualTo(2);
            assertThat(get(java.net.URI.create("http://" + dev.lattice.wire.ip.IpPrefix.hostPort(r.metrics().localAddress()) + "/other")))
                    .startsWith("404 ");
        }
    }

    @Test
    void derpFalseServesNoRelay() throws Exception {
        DerperCommand c = new DerperCommand();
        new CommandLine(c).parseArgs("-c", dir.resolve("derper.key").toString(), "-a", "127.0.0.1:0", "--stun=false", "--derp=false");
        try (DerperCommand.Running r = c.start()) {
            assertThat(get(java.net.URI.create("http://127.0.0.1:" + r.http().boundAddress().getPort() + "/derp")))
                    .isEqualTo("404 derp server disabled\n");
        }
    }

    /** derper's --bootstrap-dns-names: resolved in the background, served at /bootstrap-dns (all, or ?q=NAME). */
    @Test
    void bootstrapDnsServesTheNamedHosts() throws Exception {
        DerperCommand c = new DerperCommand();
        new CommandLine(c).parseArgs("-c", dir.resolve("derper.key").toString(), "-a", "127.0.0.1:0", "--stun=false",
                "--bootstrap-dns-names", "localhost,127.0.0.2");
        try (DerperCommand.Running r = c.start()) {
            java.net.URI u = java.net.URI.create("http://127.0.0.1:" + r.http().boundAddress().getPort() + "/bootstrap-dns");
            String all = get(u);
            for (int i = 0; i < 100 && !all.contains("127.0.0.2"); i++) {
                Thread.sleep(50);
                all = get(u);
            }
            assertThat(all).startsWith("200 {").contains("\"localhost\": [").contains("\"127.0.0.2\": [\n\t\t\"127.0.0.2\"\n\t]");
            assertThat(get(java.net.URI.create(u + "?q=127.0.0.2"))).isEqualTo("200 {\n\t\"127.0.0.2\": [\n\t\t\"127.0.0.2\"\n\t]\n}");
        }
    }
}
