package dev.lattice.agent.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.CapGrant;
import dev.lattice.wire.tailcfg.FilterRule;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The capabilities, with values, that the filter's CapGrants give a peer towards this node. */
class CapGrantsTest {
    static JsonNode j(String s) {
        return JsonMapper.shared().readTree(s);
    }

    static FilterRule rule(String src, String dst, Map<String, List<JsonNode>> capMap, List<String> caps) {
        return new FilterRule(List.of(src), null, null, null, List.of(new CapGrant(List.of(IpPrefix.parse(dst)), caps, capMap)));
    }

    @Test
    void valuesOfEveryMatchingGrantAreAppendedAndOthersLeftOut() throws Exception {
        List<FilterRule> rules = List.of(
                rule("100.64.0.2", "100.64.0.1/32", Map.of("example.com/cap/mon", List.of(j("{\"a\":1}"))), null),
                rule("100.64.0.0/24", "100.64.0.0/24", Map.of("example.com/cap/mon", List.of(j("2"))), List.of("example.com/cap/old")),
                rule("100.64.0.3", "100.64.0.1/32", Map.of("example.com/cap/other-src", List.of(j("3"))), null),
                rule("100.64.0.2", "100.64.0.9/32", Map.of("example.com/cap/other-dst", List.of(j("4"))), null),
                new FilterRule(List.of("100.64.0.2"), null, null, null, null)); // a plain packet rule
        Map<String, List<JsonNode>> caps = CapGrants.withValues(rules, InetAddress.getByName("100.64.0.2"),
                List.of(InetAddress.getByName("100.64.0.1")));
        assertThat(caps).containsOnlyKeys("example.com/cap/mon", "example.com/cap/old");
        assertThat(caps.get("example.com/cap/mon")).containsExactly(j("{\"a\":1}"), j("2"));
        assertThat(caps.get("example.com/cap/old")).isEmpty();
        assertThat(CapGrants.of(rules, InetAddress.getByName("100.64.0.2"), List.of(InetAddress.getByName("100.64.0.1"))))
                .isEqualTo(caps.keySet());
    }
}
