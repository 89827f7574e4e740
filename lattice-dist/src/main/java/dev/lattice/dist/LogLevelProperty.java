package dev.lattice.dist;

import ch.qos.logback.classic.Level;
import java.util.Locale;

/** Maps wireguard-go's LOG_LEVEL (verbose, error, silent) onto a level (logback's, or its name for latticed's own backend). */
public final class LogLevelProperty {
    /** Libraries that speak up only when something is wrong (here, not in logback's configurator: latticed's
     *  backend reads them without loading logback). */
    static final String[] QUIET = {"io.netty", "com.zaxxer.hikari", "org.flywaydb"};

    private LogLevelProperty() {}

    static Level level() {
        return level(System.getenv("LOG_LEVEL"));
    }

    static Level level(String v) {
        return Level.toLevel(levelName(v));
    }

    /** The level's name (DEBUG, INFO, ERROR, OFF), for a backend that is not logback. */
    static String levelName(String v) {
        if (v == null) return "INFO";
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "verbose", "debug" -> "DEBUG";
            case "error" -> "ERROR";
            case "silent" -> "OFF";
            default -> "INFO";
        };
    }
}
