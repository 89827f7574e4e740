package dev.lattice.control.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The online IDs as bits answer as a set of IDs would, across word boundaries and after removals. */
class OnlineIdsTest {
    @Test
    void answersAsASetOfIds() {
        OnlineIds bits = new OnlineIds();
        Set<Long> set = new HashSet<>();
        Random r = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            long id = r.nextInt(700);
            if (r.nextBoolean()) {
                bits.add(id);
                set.add(id);
            } else {
                bits.remove(id);
                set.remove(id);
            }
            if (i % 1000 == 0) bits.removeIf(x -> x % 5 == 0);
            if (i % 1000 == 0) set.removeIf(x -> x % 5 == 0);
        }
        for (long id = -3; id < 900; id++) assertThat(bits.contains(id)).as("id %d", id).isEqualTo(set.contains(id));
        for (long id : new long[] {0, 63, 64, 127, 128}) {
            bits.add(id);
            assertThat(bits.contains(id)).isTrue();
            bits.remove(id);
            assertThat(bits.contains(id)).isFalse();
        }
        bits.remove(1_000_000); // never there: nothing to do
        assertThat(bits.contains(1_000_000)).isFalse();
        assertThatThrownBy(() -> bits.add(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
