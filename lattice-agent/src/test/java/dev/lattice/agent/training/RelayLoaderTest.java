package dev.lattice.agent.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import org.junit.jupiter.api.Test;

/**
 * The training relay's loader defines the relay's server packages itself and takes everything else from its parent:
 * the classes the daemon shares with the relay (frames, keys, Netty) are the daemon's, the server's are not.
 */
class RelayLoaderTest {
    private final ClassLoader app = RelayLoaderTest.class.getClassLoader();

    @Test
    void theServerPackagesAreItsOwnAndTheRestItsParents() throws Exception {
        RelayLoader l = new RelayLoader(app);
        assertThat(l.loadClass("dev.lattice.derp.server.DerpServer").getClassLoader()).isSameAs(l);
        assertThat(l.loadClass("dev.lattice.derp.stun.StunServer").getClassLoader()).isSameAs(l);
        assertThat(l.loadClass("dev.lattice.agent.training.TrainingRelay").getClassLoader()).isSameAs(l);
        assertThat(l.loadClass("dev.lattice.derp.client.DerpClient")).isSameAs(app.loadClass("dev.lattice.derp.client.DerpClient"));
        assertThat(l.loadClass("dev.lattice.crypto.key.NodePrivateKey")).isSameAs(app.loadClass("dev.lattice.crypto.key.NodePrivateKey"));
        assertThat(l.loadClass(RelayLoader.Relay.class.getName())).as("what the daemon holds of a relay").isSameAs(RelayLoader.Relay.class);
        assertThatThrownBy(() -> l.loadClass("dev.lattice.derp.server.NoSuchClass")).isInstanceOf(ClassNotFoundException.class);
    }

    @Test
    void aStartedRelayListensUntilClosed() throws Exception {
        int port;
        try (RelayLoader.Relay r = RelayLoader.start(app)) {
            port = r.derpPort();
            assertThat(r.stunPort()).isPositive();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            }
        }
        assertThatThrownBy(() -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            }
        }).isInstanceOf(ConnectException.class);
    }
}
