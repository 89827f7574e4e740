package dev.lattice.guard;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.LoggerFactory;

/** A logger of its own whose lines a test can read: a logback {@link ListAppender} on a fresh logger name. */
final class CapturedLog implements AutoCloseable {
    private static final AtomicInteger SEQ = new AtomicInteger();

    final Logger logger;
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    private CapturedLog(Logger logger, Level level) {
        this.logger = logger;
        logger.setLevel(level);
        logger.setAdditive(false); // keep the test's lines out of the console
        appender.setContext(logger.getLoggerContext());
        appender.start();
        logger.addAppender(appender);
    }

    /** A fresh logger at {@code level}. */
    static CapturedLog fresh(Level level) {
        return new CapturedLog((Logger) LoggerFactory.getLogger("test.guard." + SEQ.incrementAndGet()), level);
    }

    /** The logger {@code type} logs to, captured at INFO; the appender is removed on close. */
    static CapturedLog of(Class<?> type) {
        return new CapturedLog((Logger) LoggerFactory.getLogger(type), Level.INFO);
    }

    List<ILoggingEvent> events() {
        return List.copyOf(appender.list);
    }

    List<String> lines() {
        return events().stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    void clear() {
        appender.list.clear();
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        appender.stop();
        logger.setAdditive(true);
        logger.setLevel(null);
    }
}
