package dev.lattice.agent.state;

import java.nio.file.Path;

/** Child process for {@link StateStoreTest}: saves prefs with an increasing counter forever, printing each one saved. */
public final class StateCrashWriter {
    public static void main(String[] args) throws Exception {
        StateStore store = StateStore.open(Path.of(args[0]));
        for (long i = 1; ; i++) {
            long n = i;
            store.updatePrefs(p -> p.withHostname("host-" + n));
            System.out.println("SAVED " + n);
            System.out.flush();
        }
    }
}
