package dev.lattice.dist;

import ch.qos.logback.core.PropertyDefinerBase;

/** Maps wireguard-go's LOG_LEVEL (verbose, error, silent) onto a logback level. */
public final class LogLevelProperty extends PropertyDefinerBase {
    @Override
    public String getPropertyValue() {
        String v = System.getenv("LOG_LEVEL");
        if (v == null) return "INFO";
        return switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "verbose", "debug" -> "DEBUG";
            case "error" -> "ERROR";
            case "silent" -> "OFF";
            default -> "INFO";
        };
    }
}
