package dev.lattice.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ConnectionSlotsTest {
    @Test
    void oneSourceGetsAtMostItsShare() {
        ConnectionSlots<String> slots = new ConnectionSlots<>(10, 2);
        assertThat(slots.tryAcquire("a")).isTrue();
        assertThat(slots.tryAcquire("a")).isTrue();
        assertThat(slots.tryAcquire("a")).isFalse();
        assertThat(slots.openFrom("a")).isEqualTo(2);
        assertThat(slots.tryAcquire("b")).isTrue();
        slots.release("a");
        assertThat(slots.openFrom("a")).isEqualTo(1);
        assertThat(slots.tryAcquire("a")).isTrue();
    }

    @Test
    void theTotalCapsAllSourcesAndARefusalTakesNothing() {
        ConnectionSlots<String> slots = new ConnectionSlots<>(2, 2);
        assertThat(slots.tryAcquire("a")).isTrue();
        assertThat(slots.tryAcquire("b")).isTrue();
        assertThat(slots.tryAcquire("c")).isFalse();
        assertThat(slots.openFrom("c")).isZero();
        slots.release("b");
        assertThat(slots.openFrom("b")).isZero();
        assertThat(slots.tryAcquire("c")).isTrue();
    }

    @Test
    void limitsMustNotBeNegative() {
        assertThatThrownBy(() -> new ConnectionSlots<String>(-1, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ConnectionSlots<String>(1, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
