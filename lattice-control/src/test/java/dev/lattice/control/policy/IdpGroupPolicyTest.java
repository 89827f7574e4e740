package dev.lattice.control.policy;

import static dev.lattice.control.policy.Fixtures.node;
import static dev.lattice.control.policy.Fixtures.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.control.store.User;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code oidc-group:NAME} as a member of a {@code group:}: the users whose identity provider put them in NAME at
 * their last login, wherever the group is used (sources, destinations, tag owners, auto approvers).
 */
class IdpGroupPolicyTest {
    static User oidcUser(long id, String name, String... groups) {
        return new User(id, name, name, name + "@example.com", "oidc", "https://sso.example/" + name, null, "", List.of(groups));
    }

    static final TailnetNode ALICE = node(1, 1L), BOB = node(2, 2L), CAROL = node(3, 3L), SERVER = node(4, null, "tag:server");
    static final List<TailnetNode> NODES = List.of(ALICE, BOB, CAROL, SERVER);
    static final String POLICY = """
            {"groups": {"group:eng": ["oidc-group:eng", "carol@"]},
             "tagOwners": {"tag:server": ["group:eng"]},
             "acls": [{"action": "accept", "src": ["group:eng"], "dst": ["tag:server:22"]}]}
            """;

    static CompiledPolicy compile(List<User> users) throws PolicyException {
        return PolicyCompiler.compile(PolicyParser.parse(POLICY), NODES, users);
    }

    @Test
    void membersOfTheIdentityProvidersGroupAreInTheGroup() throws Exception {
        CompiledPolicy p = compile(List.of(oidcUser(1, "alice", "eng", "ops"), oidcUser(2, "bob", "ops"), Fixtures.user(3, "carol")));
        assertThat(text(p.filterFor(SERVER))).containsExactly(
                "src=[100.64.0.1, 100.64.0.3, fd7a:115c:a1e0::1, fd7a:115c:a1e0::3] dst=[100.64.0.4:22, fd7a:115c:a1e0::4:22]");
        assertThat(p.userMayOwnTag(1, "tag:server")).isTrue();
        assertThat(p.userMayOwnTag(2, "tag:server")).isFalse();
    }

    @Test
    void aChangedMembershipChangesTheCompiledPolicy() throws Exception {
        CompiledPolicy before = compile(List.of(oidcUser(1, "alice", "eng"), oidcUser(2, "bob"), Fixtures.user(3, "carol")));
        CompiledPolicy after = compile(List.of(oidcUser(1, "alice"), oidcUser(2, "bob", "eng"), Fixtures.user(3, "carol")));
        assertThat(text(before.filterFor(SERVER)).getFirst()).contains("100.64.0.1,").doesNotContain("100.64.0.2");
        assertThat(text(after.filterFor(SERVER)).getFirst()).contains("100.64.0.2").doesNotContain("100.64.0.1,");
    }

    @Test
    void theSyntaxIsCheckedWithAClearMessage() {
        assertThatThrownBy(() -> PolicyParser.parse("{\"groups\": {\"group:x\": [\"oidc-group:\"]}}"))
                .isInstanceOf(PolicyException.class).hasMessageContaining("\"oidc-group:\" names no group");
        assertThatThrownBy(() -> PolicyParser.parse("{\"acls\": [{\"action\": \"accept\", \"src\": [\"oidc-group:eng\"], \"dst\": [\"*:*\"]}]}"))
                .isInstanceOf(PolicyException.class)
                .hasMessageContaining("\"oidc-group:eng\" can only be a member of a group: define one in groups, e.g. \"group:eng\": [\"oidc-group:eng\"]");
        assertThatThrownBy(() -> PolicyParser.parse("{\"groups\": {\"group:x\": [\"eng\"]}}"))
                .isInstanceOf(PolicyException.class).hasMessageContaining("or identity provider groups (oidc-group:NAME)");
    }
}
