package dev.lattice.dist;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** latticed's own logging backend: logback's lines as {@link LogConfigurator} sets it up, without logback. */
class StderrLogProviderTest {
    /** The same calls through a backend; its stderr lines without the leading timestamp. */
    private static void logSome(Function<String, org.slf4j.Logger> loggers) {
        loggers.apply("dev.lattice.agent.daemon.LocalBackend").info("state {} -> {}", "NoState", "NeedsLogin");
        loggers.apply("dev.lattice.agent.daemon.LocalBackend").debug("not at INFO");
        loggers.apply("io.netty.channel.Foo").info("chatter");
        loggers.apply("io.netty.channel.Foo").warn("trouble {}", 42);
        loggers.apply("com.zaxxer.hikari.pool.HikariPool").info("chatter");
        loggers.apply("Top").error("no package, {} args {}", 2, "here", new Object[0].length);
        loggers.apply("dev.lattice.X").warn("unfilled {} and {}", "one");
    }

    @Test
    void writesTheLinesLogbackWrites() {
        ByteArrayOutputStream ours = new ByteArrayOutputStream();
        StderrLogProvider.Factory f = new StderrLogProvider.Factory("INFO", new PrintStream(ours, true, StandardCharsets.UTF_8));
        logSome(f::getLogger);

        PrintStream saved = System.err;
        ByteArrayOutputStream theirs = new ByteArrayOutputStream();
        LoggerContext ctx = new LoggerContext();
        ctx.setMDCAdapter(new LogbackMDCAdapter());
        try {
            System.setErr(new PrintStream(theirs, true, StandardCharsets.UTF_8));
            new LogConfigurator().configure(ctx);
            ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(ch.qos.logback.classic.Level.INFO);
            logSome(ctx::getLogger);
        } finally {
            System.setErr(saved);
            ctx.stop();
        }
        String o = ours.toString(StandardCharsets.UTF_8);
        assertThat(o).matches("(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) [^\n]*\n){4}");
        assertThat(o).contains(" INFO  LocalBackend: state NoState -> NeedsLogin\n", " WARN  Foo: trouble 42\n",
                " ERROR Top: no package, 2 args here\n", " WARN  X: unfilled one and {}\n");
        assertThat(withoutTimes(o)).isEqualTo(withoutTimes(theirs.toString(StandardCharsets.UTF_8)));
    }

    private static String withoutTimes(String lines) {
        return lines.replaceAll("(?m)^\\S+ ", "");
    }

    @Test
    void aThrowableFollowsItsLineAsAStackTrace() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StderrLogProvider.Factory f = new StderrLogProvider.Factory("INFO", new PrintStream(out, true, StandardCharsets.UTF_8));
        f.getLogger("dev.lattice.Y").warn("failed {}", "here", new IllegalStateException("boom"));
        assertThat(out.toString(StandardCharsets.UTF_8)).matches(
                "(?s)\\S+ WARN  Y: failed here\njava.lang.IllegalStateException: boom\n\tat dev\\.lattice\\.dist\\.StderrLogProviderTest\\..*");
    }

    @Test
    void levelsFollowLogLevelAndHoldForTheNamesBelow() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StderrLogProvider.Factory f = new StderrLogProvider.Factory(LogLevelProperty.levelName("error"),
                new PrintStream(out, true, StandardCharsets.UTF_8));
        org.slf4j.Logger agent = f.getLogger("dev.lattice.agent.Z");
        org.slf4j.Logger netty = f.getLogger("io.netty.Q");
        assertThat(agent.isWarnEnabled()).isFalse();
        assertThat(agent.isErrorEnabled()).isTrue();
        assertThat(netty.isWarnEnabled()).isTrue(); // libraries: WARN, whatever the root says
        assertThat(f.getLogger("io.nettyish").isWarnEnabled()).isFalse(); // a name, not a string prefix

        // latticed --verbose: DEBUG for dev.lattice and below, also for loggers made before
        ((StderrLogger) f.getLogger("dev.lattice")).setLevel("DEBUG");
        assertThat(agent.isDebugEnabled()).isTrue();
        assertThat(agent.isTraceEnabled()).isFalse();
        assertThat(f.getLogger("dev.lattice.later").isDebugEnabled()).isTrue();
        assertThat(f.getLogger("dev.latticed").isWarnEnabled()).isFalse();
        assertThat(netty.isInfoEnabled()).isFalse();

        StderrLogProvider.Factory silent = new StderrLogProvider.Factory(LogLevelProperty.levelName("silent"), null);
        assertThat(silent.getLogger("dev.lattice.A").isErrorEnabled()).isFalse();
        assertThat(out.size()).isZero();
    }

    @Test
    void aLogbackFileGivenByTheUserGoesToLogback() {
        String saved = System.getProperty("logback.configurationFile");
        System.setProperty("logback.configurationFile", "/nonexistent/logback.xml");
        try {
            StderrLogProvider p = new StderrLogProvider();
            p.initialize();
            assertThat(p.getLoggerFactory()).isInstanceOf(LoggerContext.class);
        } finally {
            if (saved == null) System.clearProperty("logback.configurationFile");
            else System.setProperty("logback.configurationFile", saved);
        }
        StderrLogProvider p = new StderrLogProvider();
        p.initialize();
        assertThat(p.getLoggerFactory()).isInstanceOf(StderrLogProvider.Factory.class);
    }

    @Test
    void latticedLogsThroughItWithoutLoadingLogback() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "-Xlog:class+load=info:stdout", "-cp",
                System.getProperty("java.class.path"), LogsAsLatticed.class.getName())).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(err).matches("\\S+ INFO  StderrLogProviderTest\\$LogsAsLatticed: hello\n"); // and nothing else
        assertThat(out).contains("dev.lattice.dist.StderrLogger ").doesNotContain("ch.qos.logback");
    }

    /** Sets logging up as {@link Main} does for latticed, then logs one line (the fresh JVM above). */
    static final class LogsAsLatticed {
        public static void main(String[] args) {
            Main.useOwnLogging();
            org.slf4j.LoggerFactory.getLogger(LogsAsLatticed.class).info("hello");
        }
    }
}
