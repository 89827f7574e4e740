package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The prefix + secret key format: round trip, fixed-length parsing (base64url may contain '-'), rejection. */
class SecretKeysTest {
    @Test
    void generatedKeysParseBackAndHashTheirSecret() {
        Set<String> prefixes = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            SecretKeys.Generated g = SecretKeys.AUTH.generate();
            SecretKeys.Parsed p = SecretKeys.AUTH.parse(g.fullKey());
            assertThat(p).isNotNull();
            assertThat(p.prefix()).isEqualTo(g.prefix());
            assertThat(SecretKeys.matches(p.secret(), g.hash())).isTrue();
            assertThat(SecretKeys.API.parse(g.fullKey())).isNull();
            assertThat(prefixes.add(g.prefix())).isTrue();
            assertThat(g.toString()).doesNotContain(g.secret());
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void mutatedKeysNeverVerify(long seed) {
        Random r = new Random(seed);
        SecretKeys.Generated g = SecretKeys.AUTH.generate();
        String alphabet = "abcXYZ019-_.+/= \u00e9";
        for (int i = 0; i < 5000; i++) {
            StringBuilder sb = new StringBuilder(g.fullKey());
            switch (r.nextInt(3)) {
                case 0 -> sb.setCharAt(r.nextInt(sb.length()), alphabet.charAt(r.nextInt(alphabet.length())));
                case 1 -> sb.deleteCharAt(r.nextInt(sb.length()));
                default -> sb.insert(r.nextInt(sb.length() + 1), alphabet.charAt(r.nextInt(alphabet.length())));
            }
            String s = sb.toString();
            if (s.equals(g.fullKey())) continue;
            SecretKeys.Parsed p = SecretKeys.AUTH.parse(s);
            boolean accepted = p != null && p.prefix().equals(g.prefix()) && SecretKeys.matches(p.secret(), g.hash());
            assertThat(accepted).as(s).isFalse();
        }
    }
}
