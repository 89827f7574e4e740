package dev.lattice.control.admin;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.server.ControlServer;
import dev.lattice.control.server.TestServer;
import java.nio.file.Path;

/** A control server on loopback with SQLite and the admin socket in a temp dir, without DERP. */
final class AdminTestServer {
    private AdminTestServer() {}

    static ControlServer start(Path dir, String extraYaml) throws Exception {
        return ControlServer.start(ControlConfig.parse(TestServer.yaml(dir, TestServer.freePort(), false) + extraYaml, dir));
    }
}
