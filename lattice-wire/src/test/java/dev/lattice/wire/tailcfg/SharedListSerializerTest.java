package dev.lattice.wire.tailcfg;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class SharedListSerializerTest {
    static List<String> sources(int n, String prefix) {
        return IntStream.range(0, n).mapToObj(i -> prefix + i).toList();
    }

    static String json(FilterRule r) {
        return Tailcfg.json().writeValueAsString(r);
    }

    static FilterRule rule(List<String> src) {
        return new FilterRule(src, null, List.of(new NetPortRange("100.64.0.1", null, new PortRange(80, 80))), null, null);
    }

    @Test
    void aSharedSourceListEncodesExactlyAsAPlainList() {
        List<String> big = sources(SharedListSerializer.MIN_SHARED * 3, "100.64.1.");
        String first = json(rule(big));
        JsonNode tree = Tailcfg.json().readTree(first);
        assertThat(tree.get("SrcIPs").size()).isEqualTo(big.size());
        assertThat(tree.get("SrcIPs").get(5).asString()).isEqualTo("100.64.1.5");
        assertThat(tree.get("DstPorts").get(0).get("IP").asString()).isEqualTo("100.64.0.1");
        // Again (from the cache), and from an equal list that is another instance: the same bytes.
        assertThat(json(rule(big))).isEqualTo(first);
        assertThat(json(rule(List.copyOf(new ArrayList<>(big))))).isEqualTo(first);
        // Inside an array of rules, the separators around the raw value stay right.
        String two = Tailcfg.json().writeValueAsString(List.of(rule(big), rule(sources(2, "10.0.0."))));
        assertThat(Tailcfg.json().readTree(two).get(1).get("SrcIPs").get(1).asString()).isEqualTo("10.0.0.1");
        assertThat(Tailcfg.json().readTree(two).get(0).get("SrcIPs").size()).isEqualTo(big.size());
    }

    @Test
    void aListThatCanChangeIsEncodedAfreshEachTime() {
        List<String> mutable = new ArrayList<>(sources(SharedListSerializer.MIN_SHARED * 2, "100.64.2."));
        String before = json(rule(mutable));
        mutable.set(0, "100.100.100.100");
        String after = json(rule(mutable));
        assertThat(after).isNotEqualTo(before).contains("\"100.100.100.100\"");
    }

    @Test
    void smallListsAndEscapesAreWrittenAsUsual() {
        String small = json(rule(List.of("*")));
        assertThat(small).contains("\"SrcIPs\":[\"*\"]");
        List<String> odd = new ArrayList<>(sources(SharedListSerializer.MIN_SHARED, "x"));
        odd.add("quote\"back\\slash");
        List<String> frozen = List.copyOf(odd);
        JsonNode tree = Tailcfg.json().readTree(json(rule(frozen)));
        assertThat(tree.get("SrcIPs").get(frozen.size() - 1).asString()).isEqualTo("quote\"back\\slash");
    }
}
