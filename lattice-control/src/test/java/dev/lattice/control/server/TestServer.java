package dev.lattice.control.server;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.testlab.ControlYaml;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test fixture: a control server config on loopback with SQLite, keys and the admin socket
 * ({@code DIR/run/lattice.sock}) in a temp dir. Shared by the protocol, admin and CLI tests.
 */
public final class TestServer {
    private TestServer() {}

    public static int freePort() {
        return ControlYaml.freePort();
    }

    /**
     * The YAML for a server on {@code port}; with {@code embeddedDerp} the DERP relay (region 999, verify_clients)
     * and STUN on a free loopback port are on.
     */
    public static String yaml(Path dir, int port, boolean embeddedDerp) {
        ControlYaml yaml = ControlYaml.on(dir, port);
        if (embeddedDerp) yaml.embeddedDerp(freePort());
        return yaml.build();
    }

    /** A config with the embedded DERP on; its YAML is also left in {@code DIR/config.yaml.src}. */
    public static ControlConfig config(Path dir, String extraYaml) throws IOException {
        String yaml = yaml(dir, freePort(), true) + extraYaml;
        Files.writeString(dir.resolve("config.yaml.src"), yaml);
        return ControlConfig.parse(yaml, dir);
    }
}
