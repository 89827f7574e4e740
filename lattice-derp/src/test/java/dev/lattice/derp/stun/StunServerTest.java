package dev.lattice.derp.stun;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Lab;
import dev.lattice.wire.stun.Stun;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class StunServerTest {
    @Test
    void ourClientLearnsItsAddressFromOurServer() throws Exception {
        try (StunServer s = StunServer.start(new InetSocketAddress("127.0.0.1", 0));
             DatagramChannel ch = DatagramChannel.open()) {
            ch.bind(new InetSocketAddress("127.0.0.1", 0));
            InetSocketAddress mapped = StunClient.query(ch, s.boundAddress(), Duration.ofSeconds(2), 3);
            assertThat(mapped).isEqualTo(ch.getLocalAddress());
            assertThat(s.answered()).isEqualTo(1);
        }
    }

    @Test
    void answersIpv6AndIgnoresGarbageWithoutDying() throws Exception {
        try (StunServer s = StunServer.start(new InetSocketAddress("::1", 0));
             DatagramChannel ch = DatagramChannel.open()) {
            ch.bind(new InetSocketAddress("::1", 0));
            Random r = new Random(7);
            for (int i = 0; i < 200; i++) {
                byte[] g = new byte[r.nextInt(100)];
                r.nextBytes(g);
                ch.send(ByteBuffer.wrap(g), s.boundAddress());
            }
            InetSocketAddress mapped = StunClient.query(ch, s.boundAddress(), Duration.ofSeconds(2), 3);
            assertThat(mapped.getAddress()).isEqualTo(InetAddress.getByName("::1"));
            assertThat(mapped.getPort()).isEqualTo(((InetSocketAddress) ch.getLocalAddress()).getPort());
            assertThat(s.ignored()).isGreaterThanOrEqualTo(190);
        }
    }

    /** Debian's stun-client (RFC 3489, "stun" binary) gets its mapped address from our server. */
    @Test
    void debianStunClientIsAnswered() throws Exception {
        var stun = Lab.findCommand("stun");
        Assumptions.assumeTrue(stun.isPresent(), "Debian package stun-client (command 'stun') not installed; skipping");
        try (StunServer s = StunServer.start(new InetSocketAddress("127.0.0.1", 0))) {
            Process p = new ProcessBuilder(List.of(stun.get().toString(), "127.0.0.1:" + s.boundAddress().getPort(), "1", "-v"))
                    .redirectErrorStream(true).start();
            boolean done = p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS);
            if (!done) p.destroyForcibly();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(s.answered()).as(out).isPositive();
            assertThat(out).contains("MappedAddress = 127.0.0.1:");
        }
    }
}
