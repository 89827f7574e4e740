package dev.lattice.agent.e2e;

import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * lattice-control's nodes as the admin REST API on its unix socket gives them, fetched with curl: what
 * {@code nodes list} shows, without a JVM per poll, so tests can time state changes to a fraction of a second.
 */
record AdminNodes(Host ctl, Path socket) {
    /** One node: online, and its approved and served (primary) routes. */
    record NodeState(String name, boolean online, List<String> approved, List<String> primary) {}

    /** The nodes by host name; empty if the server did not answer. */
    Map<String, NodeState> nodes() {
        ExecResult r = ctl.exec(Duration.ofSeconds(10), "curl", "-sf", "--unix-socket", socket.toString(),
                "http://lattice-control/api/v1/node");
        Map<String, NodeState> out = new LinkedHashMap<>();
        if (!r.ok()) return out;
        for (JsonNode n : JsonMapper.shared().readTree(r.stdout()).path("nodes")) {
            String name = n.path("name").asString();
            out.put(name, new NodeState(name, n.path("online").asBoolean(),
                    AgentPolicySubnetTest.strings(n.path("approvedRoutes")), AgentPolicySubnetTest.strings(n.path("subnetRoutes"))));
        }
        return out;
    }

    /** Polls until {@code cond} holds; returns the nodes it held for, or fails with the last ones seen. */
    Map<String, NodeState> await(String what, Duration timeout, Predicate<Map<String, NodeState>> cond) {
        long end = System.nanoTime() + timeout.toNanos();
        Map<String, NodeState> last = Map.of();
        while (System.nanoTime() < end) {
            last = nodes();
            try {
                if (cond.test(last)) return last;
            } catch (RuntimeException e) {
                // a node not listed yet
            }
            Lab.sleep(Duration.ofMillis(250));
        }
        throw new AssertionError(what + " not reached in " + timeout + "; nodes: " + last.values());
    }

    /** The node named {@code name} in the CLI's {@code nodes list -o json} or {@code nodes list-routes -o json}. */
    static JsonNode named(JsonNode list, String name) {
        for (JsonNode n : list) if (n.path("name").asString().equals(name)) return n;
        throw new AssertionError("node " + name + " not listed: " + list);
    }
}
