package dev.lattice.control.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.PreAuthKey;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 in the middle of {@value RegistrationCrashWriter#WORKERS} concurrent registrations with single-use keys,
 * three times over the same database: afterwards no key is marked used without the node it registered, and every
 * registration a client was told about is there.
 */
class RegistrationCrashTest {
    static final int ROUNDS = 3;
    /** Registrations per round before the kill: enough that many more are in flight at that moment. */
    static final int BEFORE_KILL = 200;

    @TempDir
    Path dir;

    @Test
    void noSingleUseKeyIsSpentWithoutItsNode() throws Exception {
        List<Long> spentWithoutNode = new ArrayList<>();
        for (int round = 1; round <= ROUNDS; round++) {
            Map<Long, Long> acknowledged = runAndKill(round); // key id -> node id
            assertThat(acknowledged).as("round %d: registrations before the kill", round).hasSizeGreaterThanOrEqualTo(BEFORE_KILL);
            try (Store store = Store.openSqlite(dir.resolve("db.sqlite"))) {
                assertThat(store.integrityCheck()).isEqualTo("ok");
                Map<Long, TailnetNode> nodeByKey = store.nodes().list().stream().filter(n -> n.authKeyId() != null)
                        .collect(Collectors.toMap(TailnetNode::authKeyId, Function.identity()));
                List<PreAuthKey> keys = store.preAuthKeys().list();
                Set<Long> used = keys.stream().filter(PreAuthKey::used).map(PreAuthKey::id).collect(Collectors.toSet());
                long orphans = used.stream().filter(id -> !nodeByKey.containsKey(id)).count();
                long unusedWithNode = keys.stream().filter(k -> !k.used() && nodeByKey.containsKey(k.id())).count();
                long before = spentWithoutNode.isEmpty() ? 0 : spentWithoutNode.getLast();
                System.out.printf("[crash] round %d: %d registrations acknowledged before the kill; %d keys used,"
                        + " %d nodes; %d keys used without a node (%d from this round), %d nodes whose key is not"
                        + " marked used%n", round, acknowledged.size(), used.size(), nodeByKey.size(), orphans,
                        orphans - before, unusedWithNode);
                spentWithoutNode.add(orphans);
                for (var e : acknowledged.entrySet()) {
                    TailnetNode n = nodeByKey.get(e.getKey());
                    assertThat(n).as("round %d: acknowledged registration with key %d lost", round, e.getKey()).isNotNull();
                    assertThat(n.id()).isEqualTo(e.getValue());
                }
                assertThat(unusedWithNode).as("round %d: nodes registered by a key that is not marked used", round).isZero();
            }
        }
        assertThat(spentWithoutNode).as("keys used without a node, after each round (cumulative)").allMatch(n -> n == 0);
    }

    private Map<Long, Long> runAndKill(int round) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                RegistrationCrashWriter.class.getName(), dir.toString(), Integer.toString(round))
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        Map<Long, Long> acknowledged = new java.util.HashMap<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            String line;
            while (acknowledged.size() < BEFORE_KILL && System.nanoTime() < deadline && (line = out.readLine()) != null) {
                if (!line.startsWith("REGISTERED ")) continue;
                String[] p = line.split(" ");
                acknowledged.put(Long.parseLong(p[1]), Long.parseLong(p[2]));
            }
            // SIGKILL while the other workers are mid-registration.
            child.destroyForcibly();
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        return acknowledged;
    }
}
