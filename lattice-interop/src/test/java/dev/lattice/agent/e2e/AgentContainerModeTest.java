package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.interop.ControlServerProcess;
import dev.lattice.testlab.Host;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * latticed configured by nothing but its environment, as a container or a Kubernetes Deployment starts it (the
 * chart under deploy/ passes these variables): it logs in with LATTICE_AUTHKEY, names itself LATTICE_HOSTNAME,
 * offers LATTICE_ROUTES and takes its login server from LATTICE_EXTRA_ARGS; a client then reaches the LAN behind it.
 * A second start with the same state (a restarted pod) is the same node.
 */
@Tag("netns")
@Timeout(300)
class AgentContainerModeTest {
    @Test
    void latticedFromTheEnvironmentJoinsAndServesItsRoute() throws Exception {
        TailnetNode.Binaries ours = TailnetNode.lattice();
        try (RouterLab l = AgentSubnetRouterTest.labWithRouter()) {
            Host r = l.lab.hosts().stream().filter(h -> h.name().equals("r")).findFirst().orElseThrow();
            r.enableForwarding();
            Map<String, String> env = Map.of(
                    "LATTICE_AUTHKEY", l.key("tag:router"),
                    "LATTICE_ROUTES", AgentSubnetRouterTest.SUBNET,
                    "LATTICE_HOSTNAME", "k8s-router",
                    "LATTICE_EXTRA_ARGS", "--login-server=" + ControlServerProcess.serverUrl(RouterLab.CTL) + " --accept-dns=false",
                    "TS_DEBUG_USE_DERP_HTTP", "1");
            TailnetNode router = TailnetNode.startFromEnvironment(ours, r, l.lab.workDir().resolve("k8s-router"), env);
            l.nodes.add(router);
            router.await("logged in from the environment", Duration.ofSeconds(60),
                    n -> "Running".equals(n.status().path("BackendState").asString()));
            assertThat(router.daemon.tail(200)).contains("container mode: lattice").doesNotContain(env.get("LATTICE_AUTHKEY"));

            TailnetNode c = l.join(ours, l.wanHost("c", 11), l.key("tag:client"), "c", "--accept-routes");
            c.await("the router's subnet in c's AllowedIPs", Duration.ofSeconds(30),
                    n -> AgentPolicySubnetTest.allowedIps(n, "k8s-router").contains(AgentSubnetRouterTest.SUBNET));
            assertThat(RouterLab.awaitWhoami(c.host, AgentSubnetRouterTest.SRV, AgentSubnetRouterTest.ROUTER_LAN,
                    Duration.ofSeconds(20))).as(() -> "c -> srv through the container-mode router\n" + RouterLab.debug(router))
                    .isEqualTo(AgentSubnetRouterTest.ROUTER_LAN);
            String ip = router.ipv4();

            // A restarted pod: same state volume, same environment, same node.
            router.daemon.stop(Duration.ofSeconds(10));
            TailnetNode again = TailnetNode.startFromEnvironment(ours, r, l.lab.workDir().resolve("k8s-router"), env);
            l.nodes.add(again);
            again.await("running again", Duration.ofSeconds(60), n -> "Running".equals(n.status().path("BackendState").asString()));
            assertThat(again.ipv4()).isEqualTo(ip);
            assertThat(RouterLab.awaitWhoami(c.host, AgentSubnetRouterTest.SRV, AgentSubnetRouterTest.ROUTER_LAN,
                    Duration.ofSeconds(30))).isEqualTo(AgentSubnetRouterTest.ROUTER_LAN);
            System.out.println("[e2e] container mode: latticed configured by its environment serves " + AgentSubnetRouterTest.SUBNET
                    + " and keeps its address " + ip + " across a restart");
        }
    }
}
