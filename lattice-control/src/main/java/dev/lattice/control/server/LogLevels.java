package dev.lattice.control.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import dev.lattice.control.config.ControlConfig;
import org.slf4j.LoggerFactory;

/** Applies the config's {@code log.level} (Headscale's names) to Lattice's own loggers when logback is in use. */
final class LogLevels {
    private LogLevels() {}

    static void apply(ControlConfig.LogLevel level) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) return;
        Level l = switch (level) {
            case TRACE -> Level.TRACE;
            case DEBUG -> Level.DEBUG;
            case INFO -> Level.INFO;
            case WARN -> Level.WARN;
            case ERROR, FATAL, PANIC -> Level.ERROR;
            case DISABLED -> Level.OFF;
        };
        ctx.getLogger("dev.lattice").setLevel(l);
    }
}
