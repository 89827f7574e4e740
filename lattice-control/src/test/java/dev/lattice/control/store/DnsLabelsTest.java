package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Hostname → DNS label, matching Tailscale's dnsname.SanitizeHostname. */
class DnsLabelsTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "laptop|laptop", "Alice's MacBook Pro|alices-macbook-pro", "host.local|host", "web.lan|web",
            "a.b.c|a-b-c", "user@box|user-box", "_x_y_|x-y", "--a--|a", "ÄÖÜ-häuser|huser", "!!!|node", "|node",
            "my_host.localdomain|my-host"})
    void sanitises(String in, String out) {
        assertThat(DnsLabels.sanitize(in)).isEqualTo(out);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void alwaysAValidLabel(long seed) {
        Random r = new Random(seed);
        String alphabet = "abcXYZ019-_. @'!é\u0000";
        for (int i = 0; i < 5000; i++) {
            StringBuilder sb = new StringBuilder();
            int n = r.nextInt(100);
            for (int j = 0; j < n; j++) sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
            String label = DnsLabels.sanitize(sb.toString());
            assertThat(DnsLabels.isValid(label)).as("%s -> %s", sb, label).isTrue();
            assertThat(DnsLabels.sanitize(label)).as("idempotent").isEqualTo(label);
            String suffixed = DnsLabels.withSuffix(label, r.nextInt(1, 100_000));
            assertThat(DnsLabels.isValid(suffixed)).as(suffixed).isTrue();
        }
    }
}
