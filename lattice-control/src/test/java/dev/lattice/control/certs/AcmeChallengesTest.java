package dev.lattice.control.certs;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.function.BiPredicate;
import org.junit.jupiter.api.Test;

/** Challenge values live ten minutes, a name keeps its newest few, and only while their node still owns the name. */
class AcmeChallengesTest {
    static final Instant T0 = Instant.parse("2026-12-05T00:00:00Z");
    static final BiPredicate<Long, String> ANY_OWNER = (id, name) -> true;
    static final String NAME = "_acme-challenge.web.ts.example.com";

    @Test
    void valuesExpireAfterTenMinutesAndARepeatRefreshesInsteadOfDuplicating() {
        AcmeChallenges c = new AcmeChallenges();
        c.put(NAME + ".", 1, "a", T0);
        c.put(NAME.toUpperCase(java.util.Locale.ROOT), 1, "b", T0.plus(Duration.ofMinutes(5)));
        assertThat(c.values(NAME, T0.plus(Duration.ofMinutes(9)), ANY_OWNER)).containsExactly("a", "b");
        assertThat(c.values(NAME, T0.plus(AcmeChallenges.LIFETIME), ANY_OWNER)).containsExactly("b");
        c.put(NAME, 1, "b", T0.plus(Duration.ofMinutes(12)));
        assertThat(c.values(NAME, T0.plus(Duration.ofMinutes(20)), ANY_OWNER)).containsExactly("b");
        assertThat(c.values(NAME, T0.plus(Duration.ofMinutes(22)), ANY_OWNER)).isEmpty();
        c.purge(T0.plus(Duration.ofMinutes(22)));
        assertThat(c.size()).isZero();
    }

    @Test
    void aNameKeepsItsNewestValuesOnlyAndOnlyForItsOwner() {
        AcmeChallenges c = new AcmeChallenges();
        for (int i = 0; i < AcmeChallenges.MAX_VALUES_PER_NAME + 3; i++) c.put(NAME, 1, "v" + i, T0.plusSeconds(i));
        assertThat(c.values(NAME, T0.plusSeconds(60), ANY_OWNER)).hasSize(AcmeChallenges.MAX_VALUES_PER_NAME)
                .startsWith("v3").endsWith("v10");
        assertThat(c.values(NAME, T0.plusSeconds(60), (id, name) -> id != 1)).as("renamed away or deleted").isEmpty();
        assertThat(c.values("_acme-challenge.other.ts.example.com", T0, ANY_OWNER)).isEmpty();
    }
}
