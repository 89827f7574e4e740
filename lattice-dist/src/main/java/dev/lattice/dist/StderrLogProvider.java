package dev.lattice.dist;

import ch.qos.logback.classic.spi.LogbackServiceProvider;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * latticed's logging backend: the same lines on stderr as {@link LogConfigurator} sets up in logback (same
 * pattern, libraries from WARN, the root level from {@code LOG_LEVEL}), from a dozen classes instead of logback's
 * ~220 (~2-3 MB of metaspace in an idle daemon). {@link Main} names it in {@code slf4j.provider} for latticed only;
 * the other roles keep logback (lattice-control's {@code log} section configures it). A file named by
 * {@code -Dlogback.configurationFile} is still read: then everything goes to logback as before.
 */
public final class StderrLogProvider implements SLF4JServiceProvider {
    private SLF4JServiceProvider logback;
    private ILoggerFactory factory;
    private final IMarkerFactory markers = new BasicMarkerFactory();
    private final MDCAdapter mdc = new NOPMDCAdapter();

    @Override
    public void initialize() {
        if (System.getProperty("logback.configurationFile") != null) {
            logback = new LogbackServiceProvider();
            logback.initialize();
            return;
        }
        factory = new Factory(LogLevelProperty.levelName(System.getenv("LOG_LEVEL")), null);
    }

    @Override
    public ILoggerFactory getLoggerFactory() {
        return logback != null ? logback.getLoggerFactory() : factory;
    }

    @Override
    public IMarkerFactory getMarkerFactory() {
        return logback != null ? logback.getMarkerFactory() : markers;
    }

    @Override
    public MDCAdapter getMDCAdapter() {
        return logback != null ? logback.getMDCAdapter() : mdc;
    }

    @Override
    public String getRequestedApiVersion() {
        return "2.0.99";
    }

    /** Loggers by name; a level set on a name holds for it and the names below it, as in logback. */
    static final class Factory implements ILoggerFactory {
        private final Map<String, StderrLogger> loggers = new ConcurrentHashMap<>();
        private final Map<String, Integer> levels = new ConcurrentHashMap<>();
        private final PrintStream out;

        /** {@code out} null: {@code System.err}, looked up at each event. */
        Factory(String rootLevel, PrintStream out) {
            this.out = out;
            levels.put(Logger.ROOT_LOGGER_NAME, StderrLogger.levelInt(rootLevel));
            for (String quiet : LogLevelProperty.QUIET) levels.put(quiet, StderrLogger.levelInt("WARN"));
        }

        @Override
        public Logger getLogger(String name) {
            return loggers.computeIfAbsent(name, n -> new StderrLogger(n, this, out));
        }

        synchronized void setLevel(String name, String level) {
            levels.put(name, StderrLogger.levelInt(level));
            for (StderrLogger l : loggers.values()) l.level = effectiveLevel(l.getName());
        }

        int effectiveLevel(String name) {
            for (String n = name; ; ) {
                Integer l = levels.get(n);
                if (l != null) return l;
                int dot = n.lastIndexOf('.');
                if (dot < 0) return levels.get(Logger.ROOT_LOGGER_NAME);
                n = n.substring(0, dot);
            }
        }
    }
}
