package dev.lattice.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The state file: created once with fresh keys, private from birth, replaced atomically, unharmed by kill -9. */
class StateStoreTest {
    @TempDir
    Path dir;

    @Test
    void newDirectoryGetsFreshKeysThatPersist() throws Exception {
        Path sd = dir.resolve("state");
        StateStore s = StateStore.open(sd);
        AgentState first = s.state();
        assertThat(first.prefs()).isEqualTo(Prefs.defaults());
        assertThat(first.oldNodeKey()).isNull();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sd))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(s.file()))).isEqualTo("rw-------");

        AgentState again = StateStore.open(sd).state();
        assertThat(again).isEqualTo(first);
        assertThat(again.machineKey()).isEqualTo(first.machineKey());
    }

    @Test
    void prefsAndKeyRotationRoundTrip() throws Exception {
        StateStore s = StateStore.open(dir);
        AgentState before = s.state();
        s.updatePrefs(p -> p.withControlUrl("http://127.0.0.1:8080").withHostname("box").withAdvertiseTags(List.of("tag:a"))
                .withAcceptRoutes(true).withAcceptDns(false).withWantRunning(true).withLoggedOut(true));
        s.update(AgentState::withNewNodeKey);
        AgentState loaded = StateStore.open(dir).state();
        assertThat(loaded.prefs()).isEqualTo(new Prefs("http://127.0.0.1:8080", "box", List.of("tag:a"), true, false, true, true, List.of(), null, null,
                false, false, false));
        assertThat(loaded.machineKey()).isEqualTo(before.machineKey());
        assertThat(loaded.oldNodeKey()).isEqualTo(before.nodeKey());
        assertThat(loaded.nodeKey()).isNotEqualTo(before.nodeKey());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(s.file()))).isEqualTo("rw-------");
    }

    @Test
    void stagedPrefsAreSeenAtOnceAndReachTheDiskAtTheFlush() throws Exception {
        StateStore s = StateStore.open(dir);
        s.stagePrefs(p -> p.withHostname("staged").withWantRunning(true));
        assertThat(s.prefs().hostname()).isEqualTo("staged");
        assertThat(StateStore.read(s.file()).prefs()).as("the disk: as before, until the flush").isEqualTo(Prefs.defaults());
        // A change that must be durable at once writes the staged prefs with it.
        s.update(AgentState::withNewNodeKey);
        assertThat(StateStore.read(s.file()).prefs().hostname()).isEqualTo("staged");
        s.stagePrefs(p -> p.withHostname("later"));
        s.flush();
        assertThat(StateStore.open(dir).prefs()).isEqualTo(Prefs.defaults().withHostname("later").withWantRunning(true));
        Files.delete(s.file());
        s.flush();
        assertThat(s.file()).as("nothing staged: a flush writes nothing").doesNotExist();
    }

    @Test
    void aFlushAfterASaveHasNothingOlderToWrite() throws Exception {
        StateStore s = StateStore.open(dir);
        s.stagePrefs(p -> p.withHostname("a"));
        s.updatePrefs(p -> p.withHostname("b"));
        s.flush();
        assertThat(StateStore.read(s.file()).prefs().hostname()).isEqualTo("b");
        assertThat(s.prefs().hostname()).isEqualTo("b");
    }

    @Test
    void keysNeverAppearInToStringOrErrors() throws Exception {
        StateStore s = StateStore.open(dir);
        String machineHex = s.state().machineKey().toText();
        String nodeHex = s.state().nodeKey().toText();
        assertThat(s.state().toString()).doesNotContain(machineHex.substring(8)).doesNotContain(nodeHex.substring(8));
        // a truncated file: the error names the file but does not quote it
        byte[] whole = Files.readAllBytes(s.file());
        Files.write(s.file(), java.util.Arrays.copyOf(whole, whole.length / 2));
        assertThatThrownBy(() -> StateStore.open(dir)).isInstanceOf(StateStore.StateException.class)
                .hasMessageContaining(StateStore.FILE)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain(machineHex.substring(8, 20)));
    }

    @Test
    void leftoverTempFileFromACrashIsIgnoredAndRemoved() throws Exception {
        StateStore s = StateStore.open(dir);
        s.updatePrefs(p -> p.withHostname("good"));
        Path junk = dir.resolve(StateStore.FILE + ".tmp-deadbeef");
        Files.writeString(junk, "{\"Version\":1,\"MachineKey\":\"privk");
        assertThat(StateStore.open(dir).prefs().hostname()).isEqualTo("good");
        assertThat(junk).doesNotExist();
    }

    @Test
    void widerModeIsTightened() throws Exception {
        StateStore s = StateStore.open(dir);
        Files.setPosixFilePermissions(s.file(), PosixFilePermissions.fromString("rw-r--r--"));
        StateStore.open(dir);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(s.file()))).isEqualTo("rw-------");
    }

    @Test
    void unknownVersionAndMissingKeysAreRefused() {
        assertThatThrownBy(() -> StateStore.decode("{\"Version\":2}".getBytes(), "f")).hasMessageContaining("Version 2");
        assertThatThrownBy(() -> StateStore.decode("{\"Version\":1}".getBytes(), "f")).hasMessageContaining("lacks");
        assertThatThrownBy(() -> StateStore.decode("{\"Version\":1,\"MachineKey\":\"privkey:zz\",\"NodeKey\":\"x\"}".getBytes(), "f"))
                .hasMessageContaining("malformed key");
        assertThatThrownBy(() -> StateStore.decode("null".getBytes(), "f")).isInstanceOf(StateStore.StateException.class);
    }

    /** Random corruptions of a good file give a StateException or a valid state, never another exception. */
    @ParameterizedTest
    @MethodSource("seeds")
    void corruptedFilesFailCleanly(long seed) throws Exception {
        byte[] good = StateStore.encode(AgentState.generate());
        Random rnd = new Random(seed);
        for (int i = 0; i < 300; i++) {
            byte[] b = good.clone();
            switch (rnd.nextInt(3)) {
                case 0 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
                case 1 -> b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                default -> {
                    for (int k = 0; k < 5; k++) b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            try {
                StateStore.decode(b, "f");
            } catch (StateStore.StateException expected) {
                // fine: a clear refusal
            }
        }
    }

    static Stream<Long> seeds() {
        return Stream.of(1L, 7L, 99L);
    }

    @Test
    void savedStateSurvivesKillDashNine() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                StateCrashWriter.class.getName(), dir.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        long lastSaved = 0;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            String line;
            while (lastSaved < 200 && System.nanoTime() < deadline && (line = out.readLine()) != null) {
                if (line.startsWith("SAVED ")) lastSaved = Long.parseLong(line.substring(6));
            }
            // SIGKILL while it is still saving; through the handle, which (unlike Process.destroy) leaves the pipe open
            child.toHandle().destroyForcibly();
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
            // the child ran ahead of this reader: what it acknowledged before the kill is still in the pipe
            while ((line = out.readLine()) != null) {
                if (line.startsWith("SAVED ")) lastSaved = Math.max(lastSaved, Long.parseLong(line.substring(6)));
            }
        } finally {
            child.destroyForcibly();
        }
        assertThat(lastSaved).as("saves seen before the kill").isGreaterThanOrEqualTo(200);
        StateStore s = StateStore.open(dir);
        long n = Long.parseLong(s.prefs().hostname().substring("host-".length()));
        // the save in flight at the kill may or may not have landed; nothing acknowledged is lost
        assertThat(n).isBetween(lastSaved, lastSaved + 1);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(s.file()))).isEqualTo("rw-------");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly(StateStore.FILE);
        }
    }
}
