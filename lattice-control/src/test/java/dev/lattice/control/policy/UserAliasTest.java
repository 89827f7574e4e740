package dev.lattice.control.policy;

import static dev.lattice.control.policy.Fixtures.node;
import static dev.lattice.control.policy.Fixtures.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Users in a policy as Tailscale writes them: {@code alice@example.com}, {@code user:alice@example.com}, {@code user:*@domain}. */
class UserAliasTest {
    static final List<User> USERS = List.of(new User(1, "alice", "Alice", "alice@example.com", "", null, null),
            new User(2, "bob", "Bob", "bob@Example.COM", "", null, null), new User(3, "carol", "Carol", "carol@example.org", "", null, null));
    static final TailnetNode ALICE = node(1, 1L), BOB = node(2, 2L), CAROL = node(3, 3L), SERVER = node(4, 1L, "tag:server");
    static final List<TailnetNode> NODES = List.of(ALICE, BOB, CAROL, SERVER);

    static CompiledPolicy compile(String src) throws PolicyException {
        return PolicyCompiler.compile(PolicyParser.parse("{\"tagOwners\":{\"tag:server\":[\"alice@example.com\"]},"
                + "\"acls\":[{\"action\":\"accept\",\"src\":[\"" + src + "\"],\"dst\":[\"tag:server:22\"]}]}"), NODES, USERS);
    }

    @Test
    void aDomainWildcardIsEveryUserWithAnEmailThereAndNoTaggedNode() throws Exception {
        assertThat(text(compile("user:*@example.com").filterFor(SERVER)))
                .containsExactly("src=[100.64.0.1-100.64.0.2, fd7a:115c:a1e0::1-fd7a:115c:a1e0::2] dst=[100.64.0.4:22, fd7a:115c:a1e0::4:22]");
        assertThat(compile("user:*@example.net").filterFor(SERVER)).as("a domain nobody is at").isEmpty();
    }

    @Test
    void theUserPrefixNamesTheSameUserAsTheBareForm() throws Exception {
        assertThat(text(compile("user:carol@example.org").filterFor(SERVER))).isEqualTo(text(compile("carol@example.org").filterFor(SERVER)))
                .singleElement().asString().startsWith("src=[100.64.0.3, fd7a:115c:a1e0::3]");
    }

    @Test
    void otherWildcardsAreRefused() {
        for (String bad : List.of("user:a*@example.com", "*@", "user:*@", "user:*@*.com")) {
            assertThatThrownBy(() -> compile(bad)).as(bad).isInstanceOf(PolicyException.class).hasMessageContaining("invalid user");
        }
    }
}
