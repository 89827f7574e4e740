package dev.lattice.dist;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The logging every role starts with: what logback.xml said, set up without logback's XML configurator. */
class LogConfiguratorTest {
    @Test
    void oneLineOnStderrLibrariesFromWarnRootFromLogLevel() {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        LoggerContext ctx = new LoggerContext();
        ctx.setMDCAdapter(new LogbackMDCAdapter()); // what logback's service provider gives the context it configures
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            assertThat(new LogConfigurator().configure(ctx)).isEqualTo(Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
            ctx.getLogger("dev.lattice.agent.daemon.LocalBackend").info("state {} -> {}", "NoState", "NeedsLogin");
            ctx.getLogger("io.netty.channel.Foo").info("chatter");
            ctx.getLogger("io.netty.channel.Foo").warn("trouble");
            assertThat(ctx.getLogger(Logger.ROOT_LOGGER_NAME).getLevel()).isEqualTo(LogLevelProperty.level());
            for (String quiet : LogConfigurator.QUIET) assertThat(ctx.getLogger(quiet).getLevel()).as(quiet).isEqualTo(Level.WARN);
        } finally {
            System.setErr(saved);
            ctx.stop();
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).matches(
                "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) INFO  LocalBackend: state NoState -> NeedsLogin\n"
                        + "\\S+ WARN  Foo: trouble\n");
    }

    @Test
    void logLevelFollowsWireguardGo() {
        assertThat(LogLevelProperty.level(null)).isEqualTo(Level.INFO);
        assertThat(LogLevelProperty.level("verbose")).isEqualTo(Level.DEBUG);
        assertThat(LogLevelProperty.level("DEBUG")).isEqualTo(Level.DEBUG);
        assertThat(LogLevelProperty.level("error")).isEqualTo(Level.ERROR);
        assertThat(LogLevelProperty.level("silent")).isEqualTo(Level.OFF);
        assertThat(LogLevelProperty.level("whatever")).isEqualTo(Level.INFO);
    }

    @Test
    void aConfigurationFileGivenByTheUserIsLeftToLogback() {
        String saved = System.getProperty("logback.configurationFile");
        System.setProperty("logback.configurationFile", "/etc/some/logback.xml");
        try {
            LoggerContext ctx = new LoggerContext();
            assertThat(new LogConfigurator().configure(ctx)).isEqualTo(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY);
            assertThat(ctx.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext()).isFalse();
        } finally {
            if (saved == null) System.clearProperty("logback.configurationFile");
            else System.setProperty("logback.configurationFile", saved);
        }
    }

    @Test
    void logbackFindsItAsAServiceAndNeverLoadsItsXmlConfigurator() throws Exception {
        assertThat(ServiceLoader.load(Configurator.class).stream().map(p -> p.type().getName()))
                .contains(LogConfigurator.class.getName());
        // a fresh JVM that logs through slf4j, as every role does
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xlog:class+load=info:stdout", "-cp",
                System.getProperty("java.class.path"), LogsOnce.class.getName()));
        Process p = new ProcessBuilder(cmd).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(err).contains(" INFO  LogConfiguratorTest$LogsOnce: hello");
        // (a few classes of logback's joran.spi package, such as ConsoleTarget, belong to the appender itself)
        assertThat(out).contains("dev.lattice.dist.LogConfigurator ")
                .doesNotContain("ch.qos.logback.classic.util.DefaultJoranConfigurator ")
                .doesNotContain("ch.qos.logback.classic.joran.JoranConfigurator ")
                .doesNotContain("ch.qos.logback.core.joran.action.").doesNotContain("ch.qos.logback.core.model.")
                .doesNotContain("com.sun.org.apache.xerces.");
    }

    /** Logs one line through slf4j (the fresh JVM of the test above). */
    static final class LogsOnce {
        public static void main(String[] args) throws IOException {
            org.slf4j.LoggerFactory.getLogger(LogsOnce.class).info("hello");
        }
    }
}
