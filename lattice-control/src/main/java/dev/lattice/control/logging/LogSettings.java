package dev.lattice.control.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import dev.lattice.control.config.ControlConfig;
import java.util.Iterator;
import org.slf4j.LoggerFactory;

/**
 * Applies the config's {@code log} section when logback is the backend: {@code level} (Headscale's names) to
 * Lattice's own loggers, and {@code format: json} by giving every console/file appender of the root logger a
 * {@link JsonLogEncoder}, so from then on each line is one JSON object.
 */
public final class LogSettings {
    private LogSettings() {}

    public static void apply(ControlConfig.Log settings) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) return;
        ctx.getLogger("dev.lattice").setLevel(level(settings.level()));
        if (settings.format() == ControlConfig.LogFormat.JSON) useJson(ctx);
    }

    static Level level(ControlConfig.LogLevel level) {
        return switch (level) {
            case TRACE -> Level.TRACE;
            case DEBUG -> Level.DEBUG;
            case INFO -> Level.INFO;
            case WARN -> Level.WARN;
            case ERROR, FATAL, PANIC -> Level.ERROR;
            case DISABLED -> Level.OFF;
        };
    }

    private static void useJson(LoggerContext ctx) {
        Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
            if (!(it.next() instanceof OutputStreamAppender<ILoggingEvent> a) || a.getEncoder() instanceof JsonLogEncoder) continue;
            JsonLogEncoder json = new JsonLogEncoder();
            json.setContext(ctx);
            json.start();
            a.stop();
            a.setEncoder(json);
            a.start();
        }
    }
}
