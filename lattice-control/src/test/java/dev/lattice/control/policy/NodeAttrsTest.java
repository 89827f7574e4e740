package dev.lattice.control.policy;

import static dev.lattice.control.policy.Fixtures.node;
import static dev.lattice.control.policy.Fixtures.user;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The policy's {@code nodeAttrs} (headscale's NodeAttrGrant): targets resolved to nodes, each attribute once, in order. */
class NodeAttrsTest {
    static final List<User> USERS = List.of(user(1, "alice"), user(2, "bob"));
    static final TailnetNode ALICE = node(1, 1L), BOB = node(2, 2L), WEB = node(3, 1L, "tag:web"), CI = node(4, 2L, "tag:ci");
    static final List<TailnetNode> NODES = List.of(ALICE, BOB, WEB, CI);

    static CompiledPolicy compile(String nodeAttrs) throws PolicyException {
        return PolicyParser.parse("""
                {
                  "groups": {"group:eng": ["bob@"]},
                  "hosts": {"ci-host": "100.64.0.4"},
                  "tagOwners": {"tag:web": ["alice@"], "tag:ci": ["alice@"]},
                  "nodeAttrs": %s,
                }
                """.formatted(nodeAttrs)).check(NODES, USERS);
    }

    @Test
    void eachTargetKindGivesItsNodesTheAttributesInPolicyOrder() throws Exception {
        CompiledPolicy p = compile("""
                [
                  {"target": ["tag:web"], "attr": ["funnel", "drive:share"]},
                  {"target": ["alice@"], "attr": ["drive:access"]},
                  {"target": ["group:eng", "ci-host"], "attr": ["funnel"]},
                  {"target": ["autogroup:tagged"], "attr": ["funnel", "tagged-attr"]},
                  {"target": ["*"], "attr": []},
                ]""");
        assertThat(p.nodeAttrs(WEB)).containsExactly("funnel", "drive:share", "tagged-attr");
        assertThat(p.nodeAttrs(ALICE)).containsExactly("drive:access");
        assertThat(p.nodeAttrs(BOB)).containsExactly("funnel");
        assertThat(p.nodeAttrs(CI)).containsExactly("funnel", "tagged-attr");
        assertThat(p.nodeAttrs(node(9, 1L))).as("a node the compilation does not know").isEmpty();
        assertThat(compile("[]").nodeAttrs(WEB)).isEmpty();
        assertThat(compile("[{\"target\": [\"autogroup:member\"], \"attr\": [\"m\"]}]").nodeAttrs(WEB)).isEmpty();
        assertThat(compile("[{\"target\": [\"autogroup:member\"], \"attr\": [\"m\"]}]").nodeAttrs(ALICE)).containsExactly("m");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "[{\"target\": [\"tag:nope\"], \"attr\": [\"funnel\"]}]        | tag \"tag:nope\" is not defined",
            "[{\"target\": [\"autogroup:self\"], \"attr\": [\"funnel\"]}]  | only autogroup:member and autogroup:tagged",
            "[{\"attr\": [\"funnel\"]}]                                    | target",
            "[{\"target\": [\"*\"], \"attr\": [\"\"]}]                     | empty nodeAttrs attr",
            "[{\"target\": [\"*\"], \"ipPool\": [\"100.80.0.0/16\"]}]      | \"ipPool\" is not supported",
            "[{\"target\": [\"*\"], \"atr\": [\"funnel\"]}]                | atr",
    })
    void badEntriesAreRefusedWithTheirPosition(String nodeAttrs, String message) {
        assertThatThrownBy(() -> compile(nodeAttrs)).isInstanceOf(PolicyException.class).hasMessageContaining(message)
                .hasMessageContaining("line 5");
    }
}
