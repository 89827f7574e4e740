package dev.lattice.dist;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/** One line per event on stderr in {@link LogConfigurator#PATTERN}'s format, the throwable's trace after it. */
public final class StderrLogger extends LegacyAbstractLogger {
    private static final long serialVersionUID = 1L;
    static final int OFF = Integer.MAX_VALUE;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", Locale.ROOT);

    private final transient StderrLogProvider.Factory factory;
    private final transient PrintStream out;
    volatile int level;

    /** {@code out} null: whatever {@code System.err} is at each event, as logback's console appender does. */
    StderrLogger(String name, StderrLogProvider.Factory factory, PrintStream out) {
        this.name = name;
        this.factory = factory;
        this.out = out;
        this.level = factory.effectiveLevel(name);
    }

    static int levelInt(String level) {
        return "OFF".equalsIgnoreCase(level) ? OFF : Level.valueOf(level.toUpperCase(Locale.ROOT)).toInt();
    }

    /** Sets the level of this logger and those below it (latticed's {@code --verbose}); a level name. */
    public void setLevel(String level) {
        factory.setLevel(name, level);
    }

    @Override public boolean isTraceEnabled() { return level <= Level.TRACE.toInt(); }
    @Override public boolean isDebugEnabled() { return level <= Level.DEBUG.toInt(); }
    @Override public boolean isInfoEnabled() { return level <= Level.INFO.toInt(); }
    @Override public boolean isWarnEnabled() { return level <= Level.WARN.toInt(); }
    @Override public boolean isErrorEnabled() { return level <= Level.ERROR.toInt(); }

    @Override
    protected String getFullyQualifiedCallerName() {
        return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level lvl, Marker marker, String msg, Object[] args, Throwable t) {
        StringBuilder b = new StringBuilder(96);
        TIME.formatTo(OffsetDateTime.now(), b);
        String l = lvl.toString();
        b.append(' ').append(l).repeat(' ', Math.max(0, 5 - l.length())).append(' ');
        b.append(name, name.lastIndexOf('.') + 1, name.length()).append(": ");
        b.append(args == null || args.length == 0 ? msg : MessageFormatter.basicArrayFormat(msg, args)).append('\n');
        if (t != null) {
            StringWriter trace = new StringWriter();
            t.printStackTrace(new PrintWriter(trace));
            b.append(trace);
        }
        (out != null ? out : System.err).print(b); // one write per event, so lines of concurrent threads do not interleave
    }
}
