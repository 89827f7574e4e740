package dev.lattice.control.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lattice.control.config.ControlConfig.Allocation;
import dev.lattice.control.config.ControlConfig.DatabaseType;
import dev.lattice.control.config.ControlConfig.LogLevel;
import dev.lattice.control.config.ControlConfig.PolicyMode;
import dev.lattice.wire.ip.IpPrefix;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Reading Headscale-format config files: a real user's file, Headscale's own example, defaults, and every error kind. */
class ControlConfigTest {
    @TempDir
    Path dir;

    private static String resource(String name) throws IOException {
        try (InputStream in = ControlConfigTest.class.getResourceAsStream("/config/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private ControlConfig parse(String yaml) {
        return ControlConfig.parse(yaml, dir);
    }

    @Test
    void loadsAPublishedHeadscaleConfigWithItsPlaceholdersFilledIn() throws IOException {
        String text = resource("headscale-style-config.yaml")
                .replace("[VPS IPv4 address]", "203.0.113.7")
                .replace("[VPS IPv6 address]", "2001:db8::7")
                .replace("[upstream DNS server]", "9.9.9.9")
                .replace("[local DNS server]", "192.168.1.1");
        Path file = dir.resolve("config.yaml");
        Files.writeString(file, text);

        ControlConfig c = ControlConfig.load(file);

        assertThat(c.serverUrl()).isEqualTo(URI.create("https://headscale.example.com"));
        assertThat(c.listenAddr()).isEqualTo(new ListenAddress("0.0.0.0", 8080));
        assertThat(c.metricsListenAddr()).isEqualTo(new ListenAddress("0.0.0.0", 9090));
        assertThat(c.noisePrivateKeyPath()).isEqualTo(Path.of("/var/lib/headscale/noise_private.key"));
        assertThat(c.prefixes().v4()).isEqualTo(IpPrefix.parse("100.64.0.0/10"));
        assertThat(c.prefixes().v6()).isEqualTo(IpPrefix.parse("fd7a:115c:a1e0::/48"));
        assertThat(c.prefixes().allocation()).isEqualTo(Allocation.SEQUENTIAL);
        assertThat(c.database().type()).isEqualTo(DatabaseType.SQLITE);
        assertThat(c.database().sqlite().path()).isEqualTo(Path.of("/var/lib/headscale/db.sqlite"));
        assertThat(c.database().sqlite().writeAheadLog()).isTrue();
        var derp = c.derp().server();
        assertThat(derp.enabled()).isTrue();
        assertThat(derp.regionId()).isEqualTo(999);
        assertThat(derp.regionCode()).isEqualTo("headscale");
        assertThat(derp.regionName()).isEqualTo("headscale embedded DERP");
        assertThat(derp.stunListenAddr()).isEqualTo(new ListenAddress("0.0.0.0", 3478));
        assertThat(derp.privateKeyPath()).isEqualTo(Path.of("/var/lib/headscale/derp_server_private.key"));
        assertThat(derp.ipv4().getHostAddress()).isEqualTo("203.0.113.7");
        assertThat(IpPrefix.format(derp.ipv6())).isEqualTo("2001:db8::7");
        assertThat(c.derp().urls()).isEmpty();
        assertThat(derp.url()).isNull();
        assertThat(c.derpUrl()).as("without derp.server.url the DERP is at server_url").isEqualTo(c.serverUrl());
        assertThat(c.dns().magicDns()).isTrue();
        assertThat(c.dns().baseDomain()).isEqualTo("local");
        assertThat(c.dns().globalNameservers()).containsExactly("9.9.9.9");
        assertThat(c.dns().overrideLocalDns()).isTrue();
        assertThat(c.dns().splitNameservers()).isEqualTo(Map.of("local", List.of("192.168.1.1")));
        assertThat(c.log().level()).isEqualTo(LogLevel.INFO);
        assertThat(c.policy().mode()).isEqualTo(PolicyMode.DATABASE);
        assertThat(c.unixSocket()).isEqualTo(Path.of("/var/lib/headscale/headscale.sock"));
        assertThat(c.unixSocketPermission()).isEqualTo(0770);
        assertThat(c.unsupportedKeys()).containsExactlyInAnyOrder("grpc_listen_addr", "private_key_path");
    }

    @Test
    void loadsHeadscalesOwnExampleConfig() throws IOException {
        Path example = Path.of(System.getenv().getOrDefault("HEADSCALE_SRC", "/work/scratch/src/headscale"), "config-example.yaml");
        assumeTrue(Files.isRegularFile(example), "Headscale source not found at " + example + " (set HEADSCALE_SRC); skipped");
        ControlConfig c = ControlConfig.load(example);
        assertThat(c.derp().server().enabled()).isFalse();
        assertThat(c.derp().urls()).containsExactly(URI.create("https://controlplane.tailscale.com/derpmap/default"));
        assertThat(c.derp().updateFrequency()).isEqualTo(Duration.ofHours(3));
        assertThat(c.node().ephemeralInactivityTimeout()).isEqualTo(Duration.ofMinutes(30));
        assertThat(c.dns().baseDomain()).isEqualTo("example.com");
        assertThat(c.dns().globalNameservers()).hasSize(4);
        assertThat(c.tls().enabled()).isFalse();
        assertThat(c.taildropEnabled()).isTrue();
        assertThat(c.unsupportedKeys()).contains("grpc_listen_addr", "database.gorm.slow_threshold")
                .doesNotContain("node.routes.ha.probe_interval", "acme_url", "database.gorm.prepare_stmt");
        assertThat(c.node().haProbes()).isEqualTo(new ControlConfig.HaProbes(Duration.ofSeconds(10), Duration.ofSeconds(5)));
    }

    @Test
    void defaultsAreASingleHostTailnet() {
        ControlConfig c = ControlConfig.defaults();
        assertThat(c.serverUrl()).isEqualTo(URI.create("http://127.0.0.1:8080"));
        assertThat(c.listenAddr()).hasToString("127.0.0.1:8080");
        assertThat(c.metricsListenAddr()).hasToString("127.0.0.1:9090");
        assertThat(c.database().type()).isEqualTo(DatabaseType.SQLITE);
        assertThat(c.database().sqlite().path()).isEqualTo(Path.of("lattice-data/db.sqlite"));
        assertThat(c.noisePrivateKeyPath()).isEqualTo(Path.of("lattice-data/noise_private.key"));
        assertThat(c.prefixes()).isEqualTo(new ControlConfig.Prefixes(ControlConfig.TAILSCALE_V4, ControlConfig.TAILSCALE_V6, Allocation.SEQUENTIAL));
        var derp = c.derp().server();
        assertThat(derp.enabled()).isTrue();
        assertThat(derp.regionId()).isEqualTo(999);
        assertThat(derp.regionCode()).isEqualTo("lattice");
        assertThat(derp.stunListenAddr()).hasToString("0.0.0.0:3478");
        assertThat(derp.automaticallyAddEmbeddedDerpRegion()).isTrue();
        assertThat(c.dns().magicDns()).isTrue();
        assertThat(c.dns().baseDomain()).isEqualTo("lattice.internal");
        assertThat(c.dns().overrideLocalDns()).isFalse();
        assertThat(c.node().expiry()).isZero();
        assertThat(c.node().ephemeralInactivityTimeout()).isEqualTo(Duration.ofSeconds(120));
        assertThat(c.unsupportedKeys()).isEmpty();
        assertThat(c.warnings()).isEmpty();
        assertThat(parse("")).isEqualTo(ControlConfig.parse("", dir));
    }

    @Test
    void relativePathsResolveAgainstTheConfigDirectory() throws IOException {
        Path file = dir.resolve("etc/config.yaml");
        Files.createDirectories(file.getParent());
        Files.writeString(file, "noise:\n  private_key_path: keys/noise.key\ndatabase:\n  sqlite:\n    path: ../db.sqlite\n");
        ControlConfig c = ControlConfig.load(file);
        assertThat(c.noisePrivateKeyPath()).isEqualTo(dir.resolve("etc/keys/noise.key").toAbsolutePath());
        assertThat(c.database().sqlite().path()).isEqualTo(dir.resolve("db.sqlite").toAbsolutePath());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            ".local | local",
            "Example.COM. | example.com",
            "ts.example.net | ts.example.net"})
    void baseDomainIsNormalised(String written, String used) {
        assertThat(parse("dns:\n  base_domain: \"" + written + "\"\n").dns().baseDomain()).isEqualTo(used);
    }

    @Test
    void aPrefixesSectionNamesTheFamiliesInUse() {
        var p = parse("prefixes:\n  v4: 100.64.0.0/24\n  allocation: random\n").prefixes();
        assertThat(p.v4()).isEqualTo(IpPrefix.parse("100.64.0.0/24"));
        assertThat(p.v6()).isNull();
        assertThat(p.allocation()).isEqualTo(Allocation.RANDOM);
        assertThat(parse("prefixes:\n  v4: 10.0.0.0/8\n").warnings()).anySatisfy(w -> assertThat(w).startsWith("prefixes.v4:"));
    }

    @Test
    void octalPermissionsInEverySpelling() {
        assertThat(parse("unix_socket_permission: \"0770\"\n").unixSocketPermission()).isEqualTo(0770);
        assertThat(parse("unix_socket_permission: \"0o750\"\n").unixSocketPermission()).isEqualTo(0750);
        assertThat(parse("unix_socket_permissions: \"700\"\n").unixSocketPermission()).isEqualTo(0700);
        // Unquoted, YAML 1.2 reads 0770 as the decimal 770, whose digits are what the user meant.
        assertThat(parse("unix_socket_permission: 0770\n").unixSocketPermission()).isEqualTo(0770);
    }

    @Test
    void deprecatedEphemeralTimeoutStillWorksWithAWarning() {
        ControlConfig c = parse("ephemeral_node_inactivity_timeout: 30m\n");
        assertThat(c.node().ephemeralInactivityTimeout()).isEqualTo(Duration.ofMinutes(30));
        assertThat(c.warnings()).anySatisfy(w -> assertThat(w).contains("node.ephemeral.inactivity_timeout"));
        assertThat(parse("node:\n  expiry: 180d\n").node().expiry()).isEqualTo(Duration.ofDays(180));
    }

    @Test
    void postgresSettingsBuildAJdbcUrlAndNeverPrintThePassword() {
        ControlConfig c = parse("database:\n  type: postgres\n  postgres:\n    host: db.internal\n    port: 5433\n"
                + "    name: hs\n    user: hs\n    pass: s3cr3t-pw\n    ssl: true\n");
        assertThat(c.database().type()).isEqualTo(DatabaseType.POSTGRES);
        assertThat(c.database().postgres().jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:5433/hs?sslmode=require");
        assertThat(c.toString()).doesNotContain("s3cr3t-pw");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            // unknown keys: full path, and the nearest known key as a hint
            "dns:\\n  nameservers:\\n    globl: [1.1.1.1]\\n | dns.nameservers.globl: unknown key (did you mean global?)",
            "listen_adr: 0.0.0.0:1\\n | listen_adr: unknown key (did you mean listen_addr?)",
            "derp:\\n  server:\\n    regoin_id: 5\\n | derp.server.regoin_id: unknown key (did you mean region_id?)",
            "oidc:\\n  isuer: x\\n | oidc.isuer: unknown key (did you mean issuer?)",
            "completely_new: 1\\n | completely_new: unknown key",
            // bad values: key and value
            "prefixes:\\n  v4: 100.64.0.0/33\\n | prefixes.v4: invalid value \"100.64.0.0/33\"",
            "prefixes:\\n  v4: fd7a::/48\\n | prefixes.v4: invalid value \"fd7a::/48\" (not an IPv4 prefix)",
            "prefixes:\\n  v4: 100.64.0.0/10\\n  allocation: roundrobin\\n | prefixes.allocation: invalid value \"roundrobin\"",
            "listen_addr: 0.0.0.0\\n | listen_addr: invalid value \"0.0.0.0\"",
            "listen_addr: 0.0.0.0:99999\\n | listen_addr: invalid value \"0.0.0.0:99999\"",
            "metrics_listen_addr: 300.1.1.1:80\\n | metrics_listen_addr: invalid value \"300.1.1.1:80\"",
            "derp:\\n  update_frequency: 30x\\n | derp.update_frequency: invalid value \"30x\"",
            "derp:\\n  update_frequency: 30\\n | derp.update_frequency: invalid value \"30\" (missing unit",
            "node:\\n  ephemeral:\\n    inactivity_timeout: 10s\\n | node.ephemeral.inactivity_timeout: invalid value \"10s\"",
            "log:\\n  level: verbose\\n | log.level: invalid value \"verbose\"",
            "log:\\n  format: xml\\n | log.format: invalid value \"xml\"",
            "unix_socket_permission: \"0789\"\\n | unix_socket_permission: invalid value \"0789\"",
            "unix_socket_permission: rwx\\n | unix_socket_permission: invalid value \"rwx\"",
            "server_url: headscale.example.com\\n | server_url: invalid value \"headscale.example.com\"",
            "server_url: https://vpn.example.com\\ndns:\\n  base_domain: example.com\\n | server_url: invalid value \"https://vpn.example.com\"",
            "database:\\n  type: mysql\\n | database.type: invalid value \"mysql\"",
            "database:\\n  sqlite:\\n    wal_autocheckpoint: lots\\n | database.sqlite.wal_autocheckpoint: invalid value \"lots\"",
            "derp:\\n  server:\\n    enabled: maybe\\n | derp.server.enabled: invalid value \"maybe\"",
            "derp:\\n  server:\\n    ipv4: 2001:db8::1\\n | derp.server.ipv4: invalid value \"2001:db8::1\"",
            "derp:\\n  server:\\n    url: derp1.example.com\\n | derp.server.url: invalid value \"derp1.example.com\"",
            "dns:\\n  nameservers:\\n    global: [not-an-ip]\\n | dns.nameservers.global: invalid value \"not-an-ip\"",
            "dns:\\n  override_local_dns: true\\n | dns.override_local_dns: needs dns.nameservers.global",
            "dns:\\n  magic_dns: true\\n  base_domain: \"\"\\n | dns.base_domain: must be set",
            "dns:\\n  extra_records:\\n    - {name: a.example, type: A, value: 2001:db8::1}\\n | dns.extra_records[0].value: invalid value \"2001:db8::1\"",
            "trusted_proxies: [0.0.0.0/0]\\n | trusted_proxies: invalid value \"0.0.0.0/0\"",
            // certificates and the authoritative DNS server
            "dns:\\n  certificates: true\\n | dns.certificates: needs dns.authoritative",
            "dns:\\n  magic_dns: false\\n  certificates: true\\n | dns.certificates: needs dns.magic_dns and dns.base_domain",
            "dns:\\n  certificates: yes please\\n | dns.certificates: invalid value \"yes please\"",
            "dns:\\n  authoritative:\\n    ns: [ns1.example.net]\\n | dns.authoritative.listen_addr: must be set",
            "dns:\\n  authoritative:\\n    listen_addr: 0.0.0.0\\n | dns.authoritative.listen_addr: invalid value \"0.0.0.0\"",
            "dns:\\n  authoritative:\\n    listen_addr: :53\\n | dns.authoritative.ns: must name at least one name server",
            "dns:\\n  authoritative:\\n    listen_addr: :53\\n    ns: [bad..name]\\n | dns.authoritative.ns: invalid value \"bad..name\"",
            "dns:\\n  authoritative:\\n    listen_addr: :53\\n    ns: [ns1.lattice.internal]\\n | dns.authoritative.ns: invalid value \"ns1.lattice.internal\" (inside lattice.internal",
            "dns:\\n  authoritative:\\n    listen_addr: :53\\n    ns: [ns1.example.net]\\n    queries_per_second: 0\\n | dns.authoritative.queries_per_second: invalid value \"0\"",
            "dns:\\n  authoritative:\\n    listen_addr: :53\\n    ns: [ns1.example.net]\\n    node_record: true\\n | dns.authoritative.node_record: unknown key (did you mean node_records?)",
            "dns:\\n  magic_dns: false\\n  authoritative:\\n    listen_addr: :53\\n    ns: [ns1.example.net]\\n | dns.authoritative: needs dns.magic_dns and dns.base_domain",
            // Headscale's HA probe checks
            "node:\\n  routes:\\n    ha:\\n      probe_interval: 1s\\n | node.routes.ha.probe_interval: invalid value \"1s\" (must be >= 2s",
            "node:\\n  routes:\\n    ha:\\n      probe_timeout: 500ms\\n | node.routes.ha.probe_timeout: invalid value \"500ms\" (must be >= 1s)",
            "node:\\n  routes:\\n    ha:\\n      probe_timeout: 10s\\n | node.routes.ha.probe_timeout: invalid value \"10s\" (must be less than",
            "node:\\n  routes:\\n    ha:\\n      probe_intervall: 10s\\n | node.routes.ha.probe_intervall: unknown key (did you mean probe_interval?)",
            // Lattice's limits
            "limits:\\n  max_connections_per_ip: 0\\n | limits.max_connections_per_ip: invalid value \"0\"",
            "limits:\\n  max_connections: -5\\n | limits.max_connections: invalid value \"-5\"",
            "limits:\\n  request_timeout: 10ms\\n | limits.request_timeout: invalid value \"10ms\" (must be at least 1s)",
            "limits:\\n  max_conections: 5\\n | limits.max_conections: unknown key (did you mean max_connections?)",
            "policy:\\n  mode: git\\n | policy.mode: invalid value \"git\"",
            "dns: [1, 2]\\n | dns: expected a mapping",
            "listen_addr: [a, b]\\n | listen_addr: invalid value a list",
            "acl_policy_path: /etc/acl.hujson\\n | acl_policy_path: removed, use policy.path",
            "tls_cert_path: /a.pem\\n | tls_key_path: must be set together with tls_cert_path",
            "a: 1\\na: 2\\n | config is not valid YAML"})
    void everyErrorNamesItsKey(String yaml, String message) {
        assertThatThrownBy(() -> parse(yaml.replace("\\n", "\n")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(message);
    }

    @Test
    void certificatesAndTheAuthoritativeDnsServerAreOffByDefaultAndReadWhenGiven() {
        ControlConfig d = ControlConfig.defaults();
        assertThat(d.dns().certificates()).isFalse();
        assertThat(d.dns().authoritative()).isNull();
        ControlConfig c = parse("dns:\n  base_domain: ts.example.com\n  certificates: true\n  authoritative:\n"
                + "    listen_addr: 0.0.0.0:53\n    ns: [NS1.example.com., ns2.example.net]\n    hostmaster: admin@example.com\n"
                + "    node_records: true\n    queries_per_second: 20\n");
        assertThat(c.dns().certificates()).isTrue();
        assertThat(c.dns().authoritative()).isEqualTo(new ControlConfig.Authoritative(new ListenAddress("0.0.0.0", 53),
                List.of("ns1.example.com", "ns2.example.net"), "admin.example.com", true, 20));
        ControlConfig.Authoritative minimal = parse("dns:\n  base_domain: ts.example.com\n  authoritative:\n"
                + "    listen_addr: \"[::]:5353\"\n    ns: ns1.example.com\n").dns().authoritative();
        assertThat(minimal).isEqualTo(new ControlConfig.Authoritative(new ListenAddress("::", 5353),
                List.of("ns1.example.com"), "hostmaster.ts.example.com", false, 50));
    }

    @Test
    void haProbesAndLimitsHaveHeadscalesAndLatticesDefaultsAndCanBeSetOrTurnedOff() {
        ControlConfig d = ControlConfig.defaults();
        assertThat(d.node().haProbes()).isEqualTo(new ControlConfig.HaProbes(Duration.ofSeconds(10), Duration.ofSeconds(5)));
        assertThat(d.node().haProbes().enabled()).isTrue();
        assertThat(d.limits()).isEqualTo(new ControlConfig.Limits(0, 256, Duration.ofSeconds(30)));
        ControlConfig c = parse("""
                node:
                  routes:
                    ha:
                      probe_interval: 0s
                limits:
                  max_connections: 5000
                  max_connections_per_ip: 1000
                  request_timeout: 1m
                """);
        assertThat(c.node().haProbes().enabled()).isFalse();
        assertThat(c.limits()).isEqualTo(new ControlConfig.Limits(5000, 1000, Duration.ofMinutes(1)));
        assertThat(parse("node:\n  routes:\n    ha:\n      probe_interval: 3s\n      probe_timeout: 2s\n").node().haProbes())
                .isEqualTo(new ControlConfig.HaProbes(Duration.ofSeconds(3), Duration.ofSeconds(2)));
    }

    @Test
    void theEmbeddedDerpServerMayBeReachedAtAUrlOfItsOwn() {
        ControlConfig c = ControlConfig.parse("server_url: https://vpn.example.com\nderp:\n  server:\n"
                + "    url: https://derp1.example.com:8443\n", Path.of("/tmp"));
        assertThat(c.derpUrl()).isEqualTo(java.net.URI.create("https://derp1.example.com:8443"));
        var node = dev.lattice.control.netmap.DerpMaps.embeddedNode(c);
        assertThat(node.hostName()).isEqualTo("derp1.example.com");
        assertThat(node.derpPort()).isEqualTo(8443);
        assertThat(c.warnings()).isEmpty();
        assertThat(parse("derp:\n  server:\n    enabled: false\n    url: https://derp1.example.com\n").warnings())
                .as("a key with no effect is said so").containsExactly("derp.server.url: has no effect while derp.server.enabled is false");
    }

    @Test
    void aMissingFileIsAClearError() {
        assertThatThrownBy(() -> ControlConfig.load(dir.resolve("nope.yaml")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("does not exist");
    }
}
