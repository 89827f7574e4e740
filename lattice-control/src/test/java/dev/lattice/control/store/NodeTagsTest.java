package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class NodeTagsTest {
    @Test
    void keepTheGivenOrderWithoutDuplicates() {
        NodeTags t = NodeTags.of("tag:web", "tag:db", "tag:web");
        assertThat(t.names()).containsExactly("tag:web", "tag:db");
        assertThat(t).containsExactly("tag:web", "tag:db");
        assertThat(t.size()).isEqualTo(2);
        assertThat(t.contains("tag:db")).isTrue();
        assertThat(t.contains("tag:x")).isFalse();
        assertThat(t).isEqualTo(NodeTags.of(List.of("tag:web", "tag:db"))).hasSameHashCodeAs(NodeTags.of("tag:web", "tag:db"));
        assertThat(t).as("order is part of the value: clients see it").isNotEqualTo(NodeTags.of("tag:db", "tag:web"));
        assertThat(t.names()).as("one list, handed out on every call").isSameAs(t.names());
        assertThatThrownBy(() -> t.names().add("tag:z")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void noTagsIsTheUserOwnedCase() {
        assertThat(NodeTags.of(List.of())).isSameAs(NodeTags.NONE);
        assertThat(NodeTags.of((List<String>) null)).isSameAs(NodeTags.NONE);
        assertThat(NodeTags.NONE.isEmpty()).isTrue();
    }

    @Test
    void everyTagStartsWithTagColon() {
        assertThatThrownBy(() -> NodeTags.of("server")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"server\"");
        assertThatThrownBy(() -> NodeTags.of("tag:a", "Tag:b")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NodeTags.of(Arrays.asList("tag:a", null))).isInstanceOf(IllegalArgumentException.class);
    }
}
