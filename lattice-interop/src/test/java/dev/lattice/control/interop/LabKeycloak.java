package dev.lattice.control.interop;

import dev.lattice.control.oidc.Keycloak;
import dev.lattice.testlab.BackgroundProcess;
import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * Keycloak (from {@code LATTICE_KEYCLOAK_HOME}, skipped visibly without) serving a lab network from a lab host, with
 * lattice-control's test realm ({@code lattice}: users alice, bob, mallory, carol; client {@code lattice}). Everything
 * is done from inside the host's namespace (curl), as the test JVM cannot reach it.
 */
public final class LabKeycloak implements AutoCloseable {
    public final String ip;
    public final int port;
    private final BackgroundProcess process;
    /** How long the start took. */
    public final Duration startTime;

    private LabKeycloak(String ip, int port, BackgroundProcess process, Duration startTime) {
        this.ip = ip;
        this.port = port;
        this.process = process;
        this.startTime = startTime;
    }

    public static LabKeycloak start(Host host, String ip, int port, Path dir) throws Exception {
        Path home = Keycloak.home();
        Files.createDirectories(dir);
        byte[] pw = new byte[12];
        new java.security.SecureRandom().nextBytes(pw);
        String password = HexFormat.of().formatHex(pw);
        Instant t0 = Instant.now();
        BackgroundProcess p = host.spawn("keycloak", Map.of("JAVA_HOME", System.getProperty("java.home"),
                "KC_BOOTSTRAP_ADMIN_USERNAME", "admin", "KC_BOOTSTRAP_ADMIN_PASSWORD", password, "JAVA_OPTS_APPEND", Keycloak.JAVA_OPTS),
                List.of(home.resolve("bin/kc.sh").toString(), "start-dev", "--http-host=" + ip, "--http-port=" + port,
                        "--db=dev-mem", "--cache=local", "--log-level=warn"));
        String base = "http://" + ip + ":" + port;
        Instant end = t0.plusSeconds(240);
        while (true) {
            if (!p.isAlive()) throw new AssertionError("Keycloak exited:\n" + p.tail(40));
            if (host.exec(Duration.ofSeconds(5), "curl", "-sf", "-o", "/dev/null", base + "/realms/master").ok()) break;
            if (Instant.now().isAfter(end)) throw new AssertionError("Keycloak did not start within 240 s:\n" + p.tail(40));
            Lab.sleep(Duration.ofMillis(500));
        }
        Duration took = Duration.between(t0, Instant.now());
        ExecResult token = host.exec(Duration.ofSeconds(30), "curl", "-sf", "-d", "grant_type=password", "-d", "client_id=admin-cli",
                "-d", "username=admin", "--data-urlencode", "password=" + password, base + "/realms/master/protocol/openid-connect/token");
        if (!token.ok()) throw new AssertionError("Keycloak admin token: " + token.describe());
        String access = JsonMapper.shared().readTree(token.stdout()).get("access_token").asString();
        Path realm = dir.resolve("realm.json");
        try (InputStream in = Keycloak.class.getResourceAsStream("/oidc/keycloak-realm.json")) {
            Files.write(realm, in.readAllBytes());
        }
        ExecResult created = host.exec(Duration.ofSeconds(60), null, Map.of(), List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "-H", "Authorization: Bearer " + access, "-H", "Content-Type: application/json", "--data", "@" + realm, base + "/admin/realms"));
        if (!created.stdout().strip().equals("201")) throw new AssertionError("Keycloak realm: HTTP " + created.stdout());
        System.out.println("[oidc] Keycloak started in " + took.toMillis() + " ms on " + base);
        return new LabKeycloak(ip, port, p, took);
    }

    public String issuer() {
        return "http://" + ip + ":" + port + "/realms/" + Keycloak.REALM;
    }

    /** The control server's {@code oidc:} section for this Keycloak. */
    public String oidcYaml() {
        return "oidc:\n  issuer: " + issuer() + "\n  client_id: " + Keycloak.CLIENT + "\n  client_secret: " + Keycloak.SECRET + "\n";
    }

    @Override
    public void close() {
        process.kill(); // in-memory database: nothing to save
    }
}
