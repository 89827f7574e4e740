package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.lattice.control.config.ControlConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A start with Lattice's default layout (keys, database and admin socket in one fresh data directory, which is
 * 0700 because it holds the keys) has nothing to warn about; a socket mode the operator chose that the directory
 * defeats still gets its warning.
 */
class CleanStartTest {
    @TempDir
    Path dir;

    final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    Logger logger;

    @BeforeEach
    void capture() {
        logger = (Logger) LoggerFactory.getLogger("dev.lattice");
        logger.addAppender(logged);
        logged.start();
    }

    @AfterEach
    void release() {
        logger.detachAppender(logged);
    }

    /** Every default but the ports (tests run side by side) and the data directory (a temp dir). */
    String defaultLayout(String extra) throws Exception {
        int port = TestServer.freePort();
        Path data = dir.resolve("lattice-data");
        return """
                server_url: http://127.0.0.1:%d
                listen_addr: 127.0.0.1:%d
                metrics_listen_addr: 127.0.0.1:0
                noise:
                  private_key_path: %s/noise_private.key
                database:
                  sqlite:
                    path: %s/db.sqlite
                derp:
                  server:
                    stun_listen_addr: 127.0.0.1:%d
                    private_key_path: %s/derp_server_private.key
                unix_socket: %s/lattice.sock
                """.formatted(port, port, data, data, TestServer.freePort(), data, data) + extra;
    }

    @Test
    void aDefaultStartLogsNoWarning() throws Exception {
        try (ControlServer s = ControlServer.start(ControlConfig.parse(defaultLayout(""), dir))) {
            assertThat(s.adminSocket().path()).exists();
        }
        assertThat(logged.list).filteredOn(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                .extracting(ILoggingEvent::getFormattedMessage).isEmpty();
    }

    @Test
    void aChosenSocketModeTheDirectoryDefeatsIsStillWarnedAbout() throws Exception {
        Files.createDirectories(dir.resolve("lattice-data"));
        Files.setPosixFilePermissions(dir.resolve("lattice-data"), java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        try (ControlServer s = ControlServer.start(ControlConfig.parse(defaultLayout("unix_socket_permission: \"0770\"\n"), dir))) {
            assertThat(s.adminSocket().path()).exists();
        }
        assertThat(logged.list).filteredOn(e -> e.getLevel() == Level.WARN).extracting(ILoggingEvent::getFormattedMessage)
                .anySatisfy(m -> assertThat(m).contains("unix_socket_permission 770 admits group/others"));
    }
}
