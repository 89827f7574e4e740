package dev.lattice.derp.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DerperCommandTest {
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
