package dev.lattice.control.oidc;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A real Keycloak (the distribution from Maven Central, unpacked by {@code .ci/run} into the directory named by
 * {@code LATTICE_KEYCLOAK_HOME}), started in dev mode with an in-memory database on a free loopback port, with the
 * realm {@code lattice} from {@code oidc/keycloak-realm.json} (clients {@code lattice} and {@code lattice-pkce}, which
 * demands PKCE S256; users alice, bob, mallory and carol; groups as the {@code groups} claim). Start one per test
 * class: it takes about 30 s here. Without {@code LATTICE_KEYCLOAK_HOME} the tests are skipped, with that reason.
 */
public final class Keycloak implements AutoCloseable {
    public static final String REALM = "lattice";
    public static final String CLIENT = "lattice";
    public static final String SECRET = "lattice-test-secret";
    public static final String PKCE_CLIENT = "lattice-pkce";
    public static final String PKCE_SECRET = "lattice-pkce-secret";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /**
     * C1 only: on the shared 2-core machine Keycloak then starts in about half the time (measured 14-23 s against
     * 38-50 s under load), and a test's few requests do not need C2's code.
     */
    public static final String JAVA_OPTS = "-XX:TieredStopAtLevel=1";

    private final Process process;
    private final Path log;
    private final URI base;
    private final String adminPassword;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** How long the start took (for the report). */
    public final Duration startTime;

    private Keycloak(Process process, Path log, URI base, String adminPassword, Duration startTime) {
        this.process = process;
        this.log = log;
        this.base = base;
        this.adminPassword = adminPassword;
        this.startTime = startTime;
    }

    /** The distribution's directory, or a skipped test saying why. */
    public static Path home() {
        String env = System.getenv("LATTICE_KEYCLOAK_HOME");
        Assumptions.assumeTrue(env != null && !env.isEmpty(),
                "LATTICE_KEYCLOAK_HOME is not set: the OpenID Connect tests against Keycloak are skipped (.ci/run sets it)");
        Path home = Path.of(env);
        Assumptions.assumeTrue(Files.isExecutable(home.resolve("bin/kc.sh")),
                "LATTICE_KEYCLOAK_HOME=" + env + " holds no bin/kc.sh: the OpenID Connect tests against Keycloak are skipped");
        return home;
    }

    public static Keycloak start(Path workDir) throws Exception {
        Path home = home();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        byte[] pw = new byte[12];
        new java.security.SecureRandom().nextBytes(pw);
        String adminPassword = HexFormat.of().formatHex(pw);
        Path log = workDir.resolve("keycloak.log");
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/kc.sh").toString(), "start-dev", "--http-host=127.0.0.1",
                "--http-port=" + port, "--db=dev-mem", "--cache=local", "--log-level=warn");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("KC_BOOTSTRAP_ADMIN_USERNAME", "admin");
        pb.environment().put("KC_BOOTSTRAP_ADMIN_PASSWORD", adminPassword);
        pb.environment().put("JAVA_OPTS_APPEND", JAVA_OPTS);
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        long t0 = System.nanoTime();
        Process p = pb.start();
        URI base = URI.create("http://127.0.0.1:" + port);
        Keycloak kc = new Keycloak(p, log, base, adminPassword, Duration.ZERO);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
            while (true) {
                if (!p.isAlive()) throw new IllegalStateException("Keycloak exited (" + p.exitValue() + "): " + kc.logTail());
                try {
                    HttpResponse<Void> r = kc.http.send(HttpRequest.newBuilder(base.resolve("/realms/master")).timeout(Duration.ofSeconds(5)).build(),
                            HttpResponse.BodyHandlers.discarding());
                    if (r.statusCode() == 200) break;
                } catch (IOException e) {
                    // not listening yet
                }
                if (System.nanoTime() > deadline) throw new IllegalStateException("Keycloak did not start within 240 s: " + kc.logTail());
                Thread.sleep(250);
            }
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            Keycloak started = new Keycloak(p, log, base, adminPassword, took);
            try (InputStream in = Keycloak.class.getResourceAsStream("/oidc/keycloak-realm.json")) {
                started.admin("POST", "/admin/realms", new String(in.readAllBytes(), StandardCharsets.UTF_8), 201);
            }
            System.err.println("Keycloak " + home.getFileName() + " started in " + took.toMillis() + " ms on " + base);
            return started;
        } catch (Exception | Error e) {
            kc.close();
            throw e;
        }
    }

    public URI issuer() {
        return base.resolve("/realms/" + REALM);
    }

    /** The {@code oidc:} config section for this realm (and {@code extra} lines, indented by two spaces). */
    public String oidcYamlFor(String client, String secret, String... extra) {
        StringBuilder b = new StringBuilder("oidc:\n  issuer: " + issuer() + "\n  client_id: " + client + "\n  client_secret: " + secret
                + "\n  only_start_if_oidc_is_available: true\n");
        for (String e : extra) b.append("  ").append(e).append('\n');
        return b.toString();
    }

    public String oidcYaml(String... extra) {
        return oidcYamlFor(CLIENT, SECRET, extra);
    }

    /** Removes {@code user} from {@code group} (both by name) at the identity provider. */
    public void leaveGroup(String user, String group) throws Exception {
        String uid = admin("GET", "/admin/realms/" + REALM + "/users?exact=true&username=" + enc(user), null, 200).get(0).get("id").asString();
        String gid = groupId(group);
        admin("DELETE", "/admin/realms/" + REALM + "/users/" + uid + "/groups/" + gid, null, 204);
    }

    /** Adds {@code user} to {@code group} at the identity provider. */
    public void joinGroup(String user, String group) throws Exception {
        String uid = admin("GET", "/admin/realms/" + REALM + "/users?exact=true&username=" + enc(user), null, 200).get(0).get("id").asString();
        admin("PUT", "/admin/realms/" + REALM + "/users/" + uid + "/groups/" + groupId(group), null, 204);
    }

    private String groupId(String group) throws Exception {
        for (JsonNode g : admin("GET", "/admin/realms/" + REALM + "/groups?search=" + enc(group), null, 200)) {
            if (g.get("name").asString().equals(group)) return g.get("id").asString();
        }
        throw new IllegalArgumentException("no group " + group);
    }

    private JsonNode admin(String method, String path, String json, int expect) throws Exception {
        String form = "grant_type=password&client_id=admin-cli&username=admin&password=" + enc(adminPassword);
        HttpResponse<String> t = http.send(HttpRequest.newBuilder(base.resolve("/realms/master/protocol/openid-connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(form)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (t.statusCode() != 200) throw new IllegalStateException("Keycloak admin token: HTTP " + t.statusCode());
        String token = JSON.readTree(t.body()).get("access_token").asString();
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).header("Authorization", "Bearer " + token)
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) b.header("Content-Type", "application/json");
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != expect) throw new IllegalStateException("Keycloak " + method + " " + path + ": HTTP " + r.statusCode() + " " + r.body());
        return r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    @Override
    public void close() {
        // In-memory database: nothing to lose, so no graceful shutdown to wait for.
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
