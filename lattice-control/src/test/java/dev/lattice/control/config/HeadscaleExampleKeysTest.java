package dev.lattice.control.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Every key of Headscale v0.29.2's {@code config-example.yaml} (its commented-out keys included) is classified, and
 * the classification is checked by setting the key to a value that asks for something:
 * <ul>
 * <li>IMPLEMENTED: accepted without a warning, and the parsed config differs from the one without it;</li>
 * <li>NOTHING_TO_DO: accepted without a warning and without effect, because Lattice already behaves as asked
 *     (the reason is in the table);</li>
 * <li>WARNED: accepted, and named in the warnings the server logs at start;</li>
 * <li>REFUSED: the config does not load, and the error names the key.</li>
 * </ul>
 * A key of the example missing from the table, or a table row the example does not have, fails the test.
 */
class HeadscaleExampleKeysTest {
    enum Kind { IMPLEMENTED, NOTHING_TO_DO, WARNED, REFUSED }

    /** A key, its class, the YAML value to set it to, and other keys that value needs. */
    record Row(String key, Kind kind, String value, Map<String, String> with, String why) {}

    static final YAMLMapper YAML = YAMLMapper.builder().build();

    static Row implemented(String key, String value, String... with) {
        Map<String, String> w = new LinkedHashMap<>();
        for (int i = 0; i < with.length; i += 2) w.put(with[i], with[i + 1]);
        return new Row(key, Kind.IMPLEMENTED, value, w, "");
    }

    static Row nothingToDo(String key, String value, String why) {
        return new Row(key, Kind.NOTHING_TO_DO, value, Map.of(), why);
    }

    static Row warned(String key, String value) {
        return new Row(key, Kind.WARNED, value, Map.of(), "");
    }

    static Row refused(String key, String value) {
        return new Row(key, Kind.REFUSED, value, Map.of(), "");
    }

    static final List<Row> TABLE = List.of(
            implemented("server_url", "https://ctl.example.org"),
            implemented("listen_addr", "0.0.0.0:8443"),
            implemented("metrics_listen_addr", "0.0.0.0:9999"),
            warned("grpc_listen_addr", "0.0.0.0:50443"),
            nothingToDo("grpc_allow_insecure", "true", "there is no gRPC listener (see grpc_listen_addr)"),
            implemented("trusted_proxies", "[10.0.0.1/32]"),
            implemented("noise.private_key_path", "/srv/noise.key"),
            implemented("prefixes.v4", "100.64.0.0/16"),
            implemented("prefixes.v6", "fd7a:115c:a1e0:1::/64"),
            implemented("prefixes.allocation", "random", "prefixes.v4", "100.64.0.0/10"),
            implemented("derp.server.enabled", "false"),
            implemented("derp.server.region_id", "900"),
            implemented("derp.server.region_code", "elsewhere"),
            implemented("derp.server.region_name", "Elsewhere"),
            implemented("derp.server.verify_clients", "false"),
            implemented("derp.server.stun_listen_addr", "127.0.0.1:3479"),
            implemented("derp.server.private_key_path", "/srv/derp.key"),
            implemented("derp.server.automatically_add_embedded_derp_region", "false", "derp.paths", "[/srv/derp.yaml]"),
            implemented("derp.server.ipv4", "198.51.100.1"),
            implemented("derp.server.ipv6", "2001:db8::1"),
            implemented("derp.urls", "[https://derp.example/derpmap]"),
            implemented("derp.paths", "[/srv/derp.yaml]"),
            implemented("derp.auto_update_enabled", "false"),
            implemented("derp.update_frequency", "1h"),
            nothingToDo("disable_check_updates", "true", "Lattice never checks for updates"),
            implemented("node.expiry", "180d"),
            implemented("node.ephemeral.inactivity_timeout", "30m"),
            implemented("node.routes.ha.probe_interval", "20s"),
            implemented("node.routes.ha.probe_timeout", "2s"),
            implemented("database.type", "postgres"),
            warned("database.debug", "true"),
            nothingToDo("database.gorm.prepare_stmt", "false", "statements are always prepared"),
            nothingToDo("database.gorm.parameterized_queries", "false", "queries are always parameterized"),
            nothingToDo("database.gorm.skip_err_record_not_found", "false", "a missing record is never logged"),
            warned("database.gorm.slow_threshold", "500"),
            implemented("database.sqlite.path", "/srv/db.sqlite"),
            implemented("database.sqlite.write_ahead_log", "false"),
            implemented("database.sqlite.wal_autocheckpoint", "500"),
            implemented("database.postgres.host", "db.example"),
            implemented("database.postgres.port", "5433"),
            implemented("database.postgres.name", "hs"),
            implemented("database.postgres.user", "hs"),
            implemented("database.postgres.pass", "secret"),
            implemented("database.postgres.max_open_conns", "5"),
            implemented("database.postgres.max_idle_conns", "5"),
            implemented("database.postgres.conn_max_idle_time_secs", "60"),
            implemented("database.postgres.ssl", "true"),
            nothingToDo("acme_url", "https://acme.example/directory", "ACME runs only with tls_letsencrypt_hostname, which is refused"),
            nothingToDo("acme_email", "admin@example.org", "ACME runs only with tls_letsencrypt_hostname, which is refused"),
            refused("tls_letsencrypt_hostname", "ctl.example.org"),
            nothingToDo("tls_letsencrypt_cache_dir", "/srv/acme", "ACME runs only with tls_letsencrypt_hostname, which is refused"),
            nothingToDo("tls_letsencrypt_challenge_type", "TLS-ALPN-01", "ACME runs only with tls_letsencrypt_hostname, which is refused"),
            nothingToDo("tls_letsencrypt_listen", ":8081", "ACME runs only with tls_letsencrypt_hostname, which is refused"),
            implemented("tls_cert_path", "/srv/tls.crt", "tls_key_path", "/srv/tls.key"),
            implemented("tls_key_path", "/srv/tls.key", "tls_cert_path", "/srv/tls.crt"),
            implemented("log.level", "debug"),
            implemented("log.format", "json"),
            implemented("policy.mode", "database"),
            implemented("policy.path", "/srv/policy.hujson"),
            implemented("dns.magic_dns", "false"),
            implemented("dns.base_domain", "corp.example"),
            implemented("dns.override_local_dns", "false"),
            implemented("dns.nameservers.global", "[1.1.1.1]"),
            implemented("dns.nameservers.split", "{corp.example: [10.0.0.1]}"),
            implemented("dns.search_domains", "[corp.example]"),
            implemented("dns.extra_records", "[{name: grafana.corp.example, type: A, value: 100.64.0.3}]"),
            implemented("dns.extra_records_path", "/srv/extra-records.json"),
            implemented("unix_socket", "/srv/lattice.sock"),
            implemented("unix_socket_permission", "\"0700\""),
            implemented("oidc.only_start_if_oidc_is_available", "false", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.client_id", "lattice", "oidc.issuer", "https://sso.example"),
            implemented("oidc.client_secret", "secret", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.client_secret_path", "oidc-secret", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.use_expiry_from_token", "true", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.scope", "[openid]", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.email_verified_required", "false", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.extra_params", "{domain_hint: example.com}", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.allowed_domains", "[example.com]", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.allowed_users", "[alice@example.com]", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.allowed_groups", "[/lattice]", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.pkce.enabled", "true", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            implemented("oidc.pkce.method", "plain", "oidc.issuer", "https://sso.example", "oidc.client_id", "lattice"),
            refused("logtail.enabled", "true"),
            implemented("taildrop.enabled", "false"),
            implemented("auto_update.enabled", "true"),
            warned("tuning.register_cache_max_entries", "10"),
            warned("tuning.node_store_batch_size", "10"),
            warned("tuning.node_store_batch_timeout", "1s"));

    /** Mappings whose keys are data (domains, parameters), not config keys. */
    static final Set<String> FREE_FORM = Set.of("dns.nameservers.split", "oidc.extra_params");

    @TempDir
    Path dir;

    static JsonNode example() throws Exception {
        try (InputStream in = HeadscaleExampleKeysTest.class.getResourceAsStream("/config/headscale-0.29.2-config-example.yaml")) {
            return YAML.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    static void leaves(String prefix, JsonNode n, List<String> out) {
        if (n.isObject() && !FREE_FORM.contains(prefix)) {
            for (Map.Entry<String, JsonNode> e : n.properties()) leaves(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out);
        } else {
            out.add(prefix);
        }
    }

    @Test
    void theTableCoversExactlyTheKeysOfTheExample() throws Exception {
        List<String> keys = new ArrayList<>();
        leaves("", example(), keys);
        assertThat(keys).as("every key of Headscale's example is classified, and nothing else")
                .containsExactlyInAnyOrderElementsOf(TABLE.stream().map(Row::key).toList());
    }

    /** A valid config of our own on which each key is tried. */
    ObjectNode base() throws Exception {
        java.nio.file.Files.writeString(dir.resolve("oidc-secret"), "from-a-file\n"); // for oidc.client_secret_path
        return (ObjectNode) YAML.readTree("""
                server_url: http://127.0.0.1:8080
                listen_addr: 127.0.0.1:8080
                noise:
                  private_key_path: %s/noise.key
                database:
                  sqlite:
                    path: %s/db.sqlite
                dns:
                  base_domain: tailnet.test
                  nameservers:
                    global: [9.9.9.9]
                """.formatted(dir, dir));
    }

    static void set(ObjectNode root, String key, String yamlValue) throws Exception {
        String[] parts = key.split("\\.");
        ObjectNode o = root;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode next = o.get(parts[i]);
            o = next instanceof ObjectNode on ? on : o.putObject(parts[i]);
        }
        o.set(parts[parts.length - 1], YAML.readTree("v: " + yamlValue).get("v"));
    }

    ControlConfig load(ObjectNode root) {
        return ControlConfig.parse(YAML.writeValueAsString(root), dir);
    }

    /** The config without its reports, to compare what a key changed. */
    static List<Object> effect(ControlConfig c) throws Exception {
        List<Object> values = new ArrayList<>();
        for (RecordComponent rc : ControlConfig.class.getRecordComponents()) {
            if (rc.getName().equals("unsupportedKeys") || rc.getName().equals("warnings")) continue;
            values.add(rc.getAccessor().invoke(c));
        }
        return values;
    }

    static boolean mentioned(ControlConfig c, String key) {
        return c.unsupportedKeys().stream().anyMatch(k -> k.equals(key) || k.startsWith(key + "."))
                || c.warnings().stream().anyMatch(w -> w.startsWith(key));
    }

    @TestFactory
    Stream<DynamicTest> eachKeyBehavesAsClassified() {
        return TABLE.stream().map(row -> DynamicTest.dynamicTest(row.kind() + " " + row.key(), () -> {
            ObjectNode without = base();
            for (var w : row.with().entrySet()) set(without, w.getKey(), w.getValue());
            ObjectNode with = without.deepCopy();
            set(with, row.key(), row.value());
            switch (row.kind()) {
                case IMPLEMENTED -> {
                    ControlConfig c = load(with);
                    assertThat(mentioned(c, row.key())).as("not warned about").isFalse();
                    // Where the companions alone do not load (tls_cert_path without its key), against our base.
                    ControlConfig before;
                    try {
                        before = load(without);
                    } catch (ConfigException e) {
                        before = load(base());
                    }
                    assertThat(effect(c)).as(row.key() + " changes the server's config").isNotEqualTo(effect(before));
                }
                case NOTHING_TO_DO -> {
                    ControlConfig c = load(with);
                    assertThat(mentioned(c, row.key())).as("not warned about: " + row.why()).isFalse();
                    assertThat(effect(c)).as("no effect: " + row.why()).isEqualTo(effect(load(without)));
                }
                case WARNED -> assertThat(mentioned(load(with), row.key())).as(row.key() + " is warned about at start").isTrue();
                case REFUSED -> assertThatThrownBy(() -> load(with)).isInstanceOf(ConfigException.class)
                        .hasMessageStartingWith(row.key() + ":");
            }
        }));
    }

    @Test
    void theExampleLoadsAndWarnsAboutWhatItAsksForButLatticeLacks() throws Exception {
        ObjectNode example = (ObjectNode) example();
        // The example sets both client_secret and client_secret_path, which Headscale refuses too (mutually exclusive).
        assertThatThrownBy(() -> ControlConfig.parse(YAML.writeValueAsString(example), dir)).isInstanceOf(ConfigException.class)
                .hasMessage("oidc.client_secret_path: oidc.client_secret and oidc.client_secret_path are mutually exclusive");
        ((ObjectNode) example.get("oidc")).remove("client_secret_path");
        ControlConfig c = ControlConfig.parse(YAML.writeValueAsString(example), dir);
        List<String> expected = new ArrayList<>(List.of("grpc_listen_addr", "database.gorm.slow_threshold"));
        TABLE.stream().filter(r -> r.key().startsWith("tuning.")).forEach(r -> expected.add(r.key()));
        for (String key : expected) assertThat(mentioned(c, key)).as(key).isTrue();
        assertThat(c.unsupportedKeys()).allSatisfy(k -> assertThat(expected).anySatisfy(e -> assertThat(k.equals(e) || k.startsWith(e + ".")).isTrue()));
        assertThat(c.warnings()).isEmpty();
        assertThat(c.oidc().enabled()).isTrue();
        assertThat(c.oidc().allowedGroups()).containsExactly("/headscale");
    }
}
