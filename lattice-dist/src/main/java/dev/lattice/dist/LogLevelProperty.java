package dev.lattice.dist;

import ch.qos.logback.classic.Level;
import java.util.Locale;

/** Maps wireguard-go's LOG_LEVEL (verbose, error, silent) onto a logback level. */
public final class LogLevelProperty {
    private LogLevelProperty() {}

    static Level level() {
        return level(System.getenv("LOG_LEVEL"));
    }

    static Level level(String v) {
        if (v == null) return Level.INFO;
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "verbose", "debug" -> Level.DEBUG;
            case "error" -> Level.ERROR;
            case "silent" -> Level.OFF;
            default -> Level.INFO;
        };
    }
}
