package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostname → given name (DNS label), as Headscale 0.29 derives it with Tailscale's {@code dnsname.SanitizeHostname}.
 * The tables are Tailscale's {@code TestSanitizeLabel} and {@code TestTrimCommonSuffixes}, and Headscale's hostname
 * examples (CHANGELOG "Hostname sanitisation", {@code TestUpdateHostnameFromClient}).
 */
class DnsLabelsTest {
    /** Tailscale util/dnsname/dnsname_test.go TestSanitizeLabel: every case. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "empty        | \"\"                      | \"\"",
            "space        | \" \"                     | \"\"",
            "upper        | OBERON                  | oberon",
            "mixed        | Avery's iPhone 4(SE)    | averys-iphone-4se",
            "dotted       | mon.ipn.dev             | mon-ipn-dev",
            "email        | admin@example.com       | admin-example-com",
            "boundary     | .bound.ary.             | bound-ary",
            "bad_trailing | a-                      | a",
            "bad_leading  | -a                      | a",
            "bad_both     | -a-                     | a"})
    void tailscaleSanitizeLabel(String name, String in, String want) {
        assertThat(DnsLabels.sanitizeLabel(in)).isEqualTo(want);
    }

    @ParameterizedTest(name = "overlong")
    @ValueSource(strings = "test-test-test-test-test-test-test-test-test-test-test-test-tes")
    void tailscaleSanitizeLabelOverlong(String want) {
        assertThat(DnsLabels.sanitizeLabel("test.".repeat(20))).isEqualTo(want);
    }

    /** Tailscale TestTrimCommonSuffixes: every case, and the suffixes are trimmed one after the other. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "computer.local       | computer",
            "computer.localdomain | computer",
            "computer.lan         | computer",
            "computer.mynetwork   | computer.mynetwork",
            "box.lan.local        | box",
            "box.local.lan        | box.local"})
    void tailscaleTrimCommonSuffixes(String in, String want) {
        assertThat(DnsLabels.trimCommonSuffixes(in)).isEqualTo(want);
    }

    /**
     * Headscale's examples: its 0.29 CHANGELOG table (raw hostname → GivenName) and TestUpdateHostnameFromClient's
     * hostnames, plus what Lattice adds on top of SanitizeHostname: the {@code node} fallback.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "Joe's Mac mini          | joes-mac-mini",
            "Yuri's MacBook Pro      | yuris-macbook-pro",
            "Test@Host               | test-host",
            "mail.server             | mail-server",
            "My-PC!                  | my-pc",
            "我的电脑                  | node",
            "\"\"                      | node",
            "!!!                     | node",
            "laptop                  | laptop",
            "Alice's MacBook Pro.local | alices-macbook-pro",
            "my_host.localdomain     | my-host",
            "box.lan.local           | box",
            "_x_y_                   | x-y",
            "ÄÖÜ-häuser              | huser"})
    void headscaleGivenNames(String hostname, String given) {
        assertThat(DnsLabels.sanitize(hostname)).isEqualTo(given);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void theSixtyThreeCharacterCutCountsUtf8BytesAsGoDoes(int multibyte) {
        // Each "é" is two bytes in Go's string: the cut at 63 bytes leaves fewer ASCII characters than 63 - n.
        String in = "é".repeat(multibyte) + "a".repeat(70);
        assertThat(DnsLabels.sanitize(in)).isEqualTo("a".repeat(63 - 2 * multibyte));
    }

    /** Given names that still follow the hostname (auto-derived) and those an admin chose. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "laptop         | laptop               | true",
            "laptop-1       | laptop               | true",
            "laptop-12      | laptop               | true",
            "joes-mac-mini  | Joe's Mac mini       | true",
            "joes-mac-mini-2| Joe's Mac mini       | true",
            "node           | 我的电脑               | true",
            "node-3         | \"\"                   | true",
            "laptop-x       | laptop               | false",
            "laptop1        | laptop               | false",
            "1-givenname    | laptop               | false",
            "work           | laptop               | false",
            "laptop-1       | Laptop Pro           | false"})
    void autoDerivedOrAdminChosen(String given, String hostname, boolean auto) {
        assertThat(DnsLabels.isAutoDerived(given, hostname)).isEqualTo(auto);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 9, 10, 123})
    void shortenedSuffixedLabelsStillCountAsAutoDerived(int n) {
        String host = "a".repeat(70);
        String given = DnsLabels.withSuffix(DnsLabels.sanitize(host), n);
        assertThat(given).hasSize(63);
        assertThat(DnsLabels.isAutoDerived(given, host)).isTrue();
        assertThat(DnsLabels.isAutoDerived(given, "b".repeat(70))).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"laptop", "a"})
    void uniqueSuffixesFromOneInOrder(String base) {
        Set<String> taken = Set.of(base, base + "-1", base + "-3");
        assertThat(DnsLabels.unique(base, taken::contains)).isEqualTo(base + "-2");
        assertThat(DnsLabels.unique(base, s -> false)).isEqualTo(base);
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
            assertThat(DnsLabels.isAutoDerived(label, sb.toString())).as("a fresh label follows its hostname").isTrue();
            String suffixed = DnsLabels.withSuffix(label, r.nextInt(1, 100_000));
            assertThat(DnsLabels.isValid(suffixed)).as(suffixed).isTrue();
            assertThat(DnsLabels.isAutoDerived(suffixed, sb.toString())).as(suffixed).isTrue();
        }
    }
}
