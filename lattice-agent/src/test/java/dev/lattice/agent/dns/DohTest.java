package dev.lattice.agent.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** The DoH client costs nothing until a query needs it (MagicDnsTest covers the queries themselves). */
class DohTest {
    @Test
    void noHttpClientUntilTheFirstQueryAndNoneAfterClose() {
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            Doh doh = new Doh(ex, Duration.ofSeconds(1));
            assertThat(doh.started()).as("an idle node sets up no TLS stack").isFalse();
            // a port nothing listens on: the query fails, but the client now exists
            assertThatThrownBy(() -> doh.exchange(URI.create("http://127.0.0.1:9/dns-query"), new byte[12]))
                    .isInstanceOf(IOException.class);
            assertThat(doh.started()).isTrue();
            doh.close();
            assertThatThrownBy(() -> doh.exchange(URI.create("http://127.0.0.1:9/dns-query"), new byte[12]))
                    .isInstanceOf(IOException.class).hasMessageContaining("closed");
        }
    }
}
