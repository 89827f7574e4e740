package dev.lattice.agent.training;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.function.Supplier;

/**
 * Loads {@link TrainingRelay} and the relay's and STUN server's packages itself, from its parent's class files, and
 * everything else from its parent. The JDK's AOT cache holds only the classes of its built-in loaders, so the
 * relay's server side stays out of latticed's cache, where every latticed would preload it (~2 MiB of RSS).
 * Whole packages, so package-private access within them holds.
 */
public final class RelayLoader extends ClassLoader {
    static final List<String> OWN = List.of("dev.lattice.agent.training.", "dev.lattice.derp.server.",
            "dev.lattice.derp.standalone.", "dev.lattice.derp.stun.", "dev.lattice.derp.mesh.");

    static {
        registerAsParallelCapable();
    }

    public RelayLoader(ClassLoader parent) {
        super("lattice-training-relay", parent);
    }

    /** A started relay: its ports, and its close. */
    public record Relay(int derpPort, int stunPort, AutoCloseable closer) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            closer.close();
        }
    }

    /** Starts a {@link TrainingRelay} from a loader of its own over {@code parent}'s class files. */
    @SuppressWarnings("unchecked")
    public static Relay start(ClassLoader parent) throws Exception {
        Class<?> c = new RelayLoader(parent).loadClass(RelayLoader.class.getPackageName() + ".TrainingRelay");
        Object relay = c.getDeclaredConstructor().newInstance();
        int[] ports = ((Supplier<int[]>) relay).get();
        return new Relay(ports[0], ports[1], (AutoCloseable) relay);
    }

    /** Whether this loader defines {@code name} itself: the relay's packages, but not this loader or its record. */
    static boolean own(String name) {
        if (name.startsWith(RelayLoader.class.getName())) return false;
        for (String p : OWN) {
            if (name.startsWith(p)) return true;
        }
        return false;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        if (!own(name)) return super.loadClass(name, resolve);
        synchronized (getClassLoadingLock(name)) {
            Class<?> c = findLoadedClass(name);
            if (c == null) c = findClass(name);
            if (resolve) resolveClass(c);
            return c;
        }
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        try (InputStream in = getParent().getResourceAsStream(name.replace('.', '/') + ".class")) {
            if (in == null) throw new ClassNotFoundException(name);
            byte[] b = in.readAllBytes();
            return defineClass(name, b, 0, b.length);
        } catch (IOException e) {
            throw new ClassNotFoundException(name, e);
        }
    }
}
