package dev.lattice.agent.e2e;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link AgentPolicyTest}'s scenario (one-way rule, no peers for the untagged node, live grant and revoke by
 * retagging) with official tailscaled on the hosts: all official, and mixed both ways, so that both our packet
 * filter and the official one enforce lattice-control's rules on the web server side. Skipped visibly unless
 * LATTICE_TAILSCALED and LATTICE_TAILSCALE are set.
 */
@Tag("netns")
@Timeout(420)
class AgentPolicyOfficialTest {

    @Test
    void allOfficial() throws Exception {
        TailnetNode.Binaries o = TailnetNode.official();
        AgentPolicyTest.scenario("h1 official, h2 official, h3 official", o, o, o);
    }

    /** Official clients, latticed enforcing the rule as the web server. */
    @Test
    void officialClientsLatticedWebServer() throws Exception {
        TailnetNode.Binaries o = TailnetNode.official(), l = TailnetNode.lattice();
        AgentPolicyTest.scenario("h1 official, h2 latticed, h3 official", o, l, o);
    }

    /** latticed clients, official tailscaled enforcing the rule as the web server. */
    @Test
    void latticedClientsOfficialWebServer() throws Exception {
        TailnetNode.Binaries o = TailnetNode.official(), l = TailnetNode.lattice();
        AgentPolicyTest.scenario("h1 latticed, h2 official, h3 latticed", l, o, l);
    }
}
