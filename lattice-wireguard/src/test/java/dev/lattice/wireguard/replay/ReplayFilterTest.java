package dev.lattice.wireguard.replay;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReplayFilterTest {
    static final long LIMIT = -(1L << 13) - 1; // RejectAfterMessages

    @Test
    void acceptsEachCounterOnceInAnyOrderInsideTheWindow() {
        ReplayFilter f = new ReplayFilter();
        assertThat(f.validate(0, LIMIT)).isTrue();
        assertThat(f.validate(0, LIMIT)).isFalse();
        assertThat(f.validate(5, LIMIT)).isTrue();
        assertThat(f.validate(3, LIMIT)).isTrue();
        assertThat(f.validate(3, LIMIT)).isFalse();
        assertThat(f.validate(5, LIMIT)).isFalse();
    }

    @Test
    void rejectsCountersThatFellBehindTheWindow() {
        ReplayFilter f = new ReplayFilter();
        assertThat(f.validate(10_000, LIMIT)).isTrue();
        assertThat(f.validate(10_000 - ReplayFilter.WINDOW_SIZE, LIMIT)).isTrue();
        assertThat(f.validate(10_000 - ReplayFilter.WINDOW_SIZE - 1, LIMIT)).isFalse();
    }

    @Test
    void rejectsCountersAtOrAboveTheLimit() {
        ReplayFilter f = new ReplayFilter();
        assertThat(f.validate(LIMIT, LIMIT)).isFalse();
        assertThat(f.validate(-1L, LIMIT)).isFalse();
        assertThat(f.validate(LIMIT - 1, LIMIT)).isTrue();
    }

    @Test
    void agreesWithASimpleModelOnRandomSequences() {
        Random rnd = new Random(1);
        for (int run = 0; run < 50; run++) {
            ReplayFilter f = new ReplayFilter();
            BitSet seen = new BitSet();
            long max = -1;
            for (int i = 0; i < 5000; i++) {
                long c = Math.max(0, max + rnd.nextInt(300) - 200);
                if (rnd.nextInt(50) == 0) c = max + rnd.nextInt(20_000);
                boolean expect = !seen.get((int) c) && (max < 0 || c > max || max - c <= ReplayFilter.WINDOW_SIZE);
                // Counters far behind may have been "seen" long ago; the model only tracks the window.
                assertThat(f.validate(c, LIMIT)).as("counter %d after max %d", c, max).isEqualTo(expect);
                if (expect) seen.set((int) c);
                max = Math.max(max, c);
            }
        }
    }
}
