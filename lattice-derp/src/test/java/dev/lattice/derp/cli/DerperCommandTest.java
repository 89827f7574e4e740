package dev.lattice.derp.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DerperCommandTest {
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
}
