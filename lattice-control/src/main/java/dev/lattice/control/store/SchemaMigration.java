package dev.lattice.control.store;

import java.lang.reflect.InvocationTargetException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.sql.DataSource;

/**
 * Runs {@link FlywayMigration} in a class loader of its own that is dropped afterwards, so that Flyway's ~450 classes
 * (and their compiled code) are unloaded at the next concurrent GC cycle instead of staying in the server for its whole
 * life: a server migrates once, at start. The loader loads Flyway and {@code FlywayMigration} itself from the same
 * jars (or directories) the application's loader would, and asks its parent for everything else (JDBC, SLF4J, the
 * store's exceptions), so what crosses over is a {@link DataSource} in and a {@link StoreException} out.
 */
final class SchemaMigration {
    private SchemaMigration() {}

    /** Class-name prefixes loaded by the throwaway loader, not the application's (the Java migrations extend Flyway's classes). */
    private static final String RUNNER = "dev.lattice.control.store.FlywayMigration";
    private static final List<String> OWN_CLASSES = List.of("org.flywaydb.", RUNNER, "dev.lattice.control.store.migration.");
    /** Resource prefixes the throwaway loader answers from its own jars alone (duplicates would be two migrations). */
    private static final List<String> OWN_RESOURCES = List.of("org/flywaydb/", "META-INF/services/org.flywaydb.",
            FlywayMigration.LOCATION_PATH, RUNNER.replace('.', '/'));

    /** The last migration's loader, for tests that check nothing keeps it (and Flyway) alive. */
    static volatile java.lang.ref.WeakReference<ClassLoader> lastLoader = new java.lang.ref.WeakReference<>(null);

    static void migrate(DataSource ds, boolean postgres) {
        ClassLoader app = SchemaMigration.class.getClassLoader();
        try (Isolated loader = new Isolated(roots(app), app)) {
            lastLoader = new java.lang.ref.WeakReference<>(loader);
            Class.forName(RUNNER, true, loader).getMethod("migrate", DataSource.class, boolean.class).invoke(null, ds, postgres);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new StoreException("database migration failed: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException | java.io.IOException e) {
            throw new StoreException("cannot load the schema migrations: " + e, e);
        }
    }

    /**
     * The jars or directories that hold Flyway, its plugins, the migration scripts and the runner: in the packaged
     * server one jar, under Maven several.
     */
    private static URL[] roots(ClassLoader app) throws java.io.IOException {
        Set<URL> roots = new LinkedHashSet<>();
        roots.add(root(app.getResource(RUNNER.replace('.', '/') + ".class"), RUNNER.replace('.', '/') + ".class"));
        roots.add(root(app.getResource("org/flywaydb/core/Flyway.class"), "org/flywaydb/core/Flyway.class"));
        String plugins = "META-INF/services/org.flywaydb.core.extensibility.Plugin";
        for (URL u : Collections.list(app.getResources(plugins))) roots.add(root(u, plugins));
        for (URL u : Collections.list(app.getResources(FlywayMigration.LOCATION_PATH))) {
            roots.add(root(u, FlywayMigration.LOCATION_PATH));
        }
        return roots.toArray(URL[]::new);
    }

    /** The jar or directory a resource was found in: {@code jar:file:/x.jar!/a/b} → {@code file:/x.jar}. */
    static URL root(URL resource, String name) throws MalformedURLException {
        if (resource == null) throw new StoreException("cannot find " + name + " on the class path");
        String s = resource.toString();
        String n = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
        int at = s.lastIndexOf(n);
        if (at < 0) throw new StoreException("cannot tell where " + resource + " comes from");
        String base = s.substring(0, at);
        if (base.startsWith("jar:") && base.endsWith("!/")) base = base.substring(4, base.length() - 2);
        return java.net.URI.create(base).toURL();
    }

    /** Child-first for {@link #OWN_CLASSES} and {@link #OWN_RESOURCES}, the parent's for the rest. */
    private static final class Isolated extends URLClassLoader {
        static {
            registerAsParallelCapable();
        }

        Isolated(URL[] urls, ClassLoader parent) {
            super("schema-migration", urls, parent);
        }

        private static boolean own(String name, List<String> prefixes) {
            for (String p : prefixes) if (name.startsWith(p)) return true;
            return false;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!own(name, OWN_CLASSES)) return super.loadClass(name, resolve);
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) c = findClass(name);
                if (resolve) resolveClass(c);
                return c;
            }
        }

        @Override
        public URL getResource(String name) {
            return own(name, OWN_RESOURCES) ? findResource(name) : super.getResource(name);
        }

        @Override
        public Enumeration<URL> getResources(String name) throws java.io.IOException {
            if (!own(name, OWN_RESOURCES)) return super.getResources(name);
            // one URL per root (the same directory may be listed twice, under Maven)
            List<URL> found = new ArrayList<>(new LinkedHashSet<>(Collections.list(findResources(name))));
            return Collections.enumeration(found);
        }
    }
}
