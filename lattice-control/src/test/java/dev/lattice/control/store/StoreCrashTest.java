package dev.lattice.control.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 in the middle of a stream of writes: after reopening, the database is intact and every write the child
 * saw committed is there.
 */
class StoreCrashTest {
    @TempDir
    Path dir;

    @Test
    void committedWritesSurviveKillDashNine() throws Exception {
        Path db = dir.resolve("db.sqlite");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                CrashWriter.class.getName(), db.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        List<long[]> committed = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            String line;
            while (committed.size() < 150 && System.nanoTime() < deadline && (line = out.readLine()) != null) {
                if (!line.startsWith("COMMITTED ")) continue;
                String[] p = line.split(" ");
                committed.add(new long[] {Long.parseLong(p[1]), Long.parseLong(p[2])});
            }
            // SIGKILL while the child is still writing.
            child.destroyForcibly();
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        assertThat(committed).as("child committed writes before the kill").hasSizeGreaterThanOrEqualTo(150);

        try (Store store = Store.openSqlite(db)) {
            assertThat(store.integrityCheck()).isEqualTo("ok");
            for (long[] c : committed) {
                assertThat(store.users().get(c[0])).as("user %d", c[0]).isPresent();
                TailnetNode n = store.nodes().get(c[1]).orElseThrow(() -> new AssertionError("node " + c[1] + " lost"));
                assertThat(n.userId()).isEqualTo(c[0]);
            }
            List<User> users = store.users().list();
            List<TailnetNode> nodes = store.nodes().list();
            // The child may commit a few more pairs between our last read and the kill; of those, at most the one in
            // flight may be half there (a user without its node); nothing else.
            assertThat(nodes.size()).isGreaterThanOrEqualTo(committed.size());
            assertThat(users.size() - nodes.size()).isBetween(0, 1);
            for (TailnetNode n : nodes) assertThat(store.users().get(n.userId())).isPresent();
            // And the store is writable again.
            store.users().create("after-crash", "", "");
        }
    }
}
