package dev.lattice.control.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.control.config.ControlConfig.PkceMethod;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code oidc} section: Headscale v0.29's keys and defaults, and one clear line for each thing it cannot use. */
class OidcConfigTest {
    @TempDir
    Path dir;

    private ControlConfig parse(String yaml) {
        return ControlConfig.parse(yaml, dir);
    }

    @Test
    void offWithoutAnIssuerAndHeadscalesDefaultsOtherwise() {
        assertThat(ControlConfig.defaults().oidc().enabled()).isFalse();
        ControlConfig.Oidc o = parse("oidc:\n  issuer: https://sso.example/realms/corp\n  client_id: lattice\n  client_secret: s3cr3t\n").oidc();
        assertThat(o.enabled()).isTrue();
        assertThat(o.issuer()).isEqualTo(URI.create("https://sso.example/realms/corp"));
        assertThat(o.scope()).containsExactly("openid", "profile", "email");
        assertThat(o.emailVerifiedRequired()).isTrue();
        assertThat(o.onlyStartIfOidcIsAvailable()).isTrue();
        assertThat(o.useExpiryFromToken()).isFalse();
        assertThat(o.pkceEnabled()).isFalse();
        assertThat(o.pkceMethod()).isEqualTo(PkceMethod.S256);
        assertThat(o.groupsClaim()).isEqualTo("groups");
        assertThat(o.allowedDomains()).isEmpty();
    }

    @Test
    void everyKeyIsRead() {
        ControlConfig.Oidc o = parse("""
                oidc:
                  only_start_if_oidc_is_available: false
                  issuer: http://127.0.0.1:8081/realms/corp
                  client_id: lattice
                  client_secret: s3cr3t
                  use_expiry_from_token: true
                  scope: [openid, email, groups]
                  email_verified_required: false
                  extra_params: {domain_hint: example.com, prompt: login}
                  allowed_domains: [example.com]
                  allowed_users: [alice@example.com]
                  allowed_groups: [/lattice]
                  pkce: {enabled: true, method: plain}
                  groups_claim: roles
                """).oidc();
        assertThat(o.onlyStartIfOidcIsAvailable()).isFalse();
        assertThat(o.useExpiryFromToken()).isTrue();
        assertThat(o.scope()).containsExactly("openid", "email", "groups");
        assertThat(o.emailVerifiedRequired()).isFalse();
        assertThat(o.extraParams()).isEqualTo(Map.of("domain_hint", "example.com", "prompt", "login"));
        assertThat(o.allowedDomains()).containsExactly("example.com");
        assertThat(o.allowedUsers()).containsExactly("alice@example.com");
        assertThat(o.allowedGroups()).containsExactly("/lattice");
        assertThat(o.pkceEnabled()).isTrue();
        assertThat(o.pkceMethod()).isEqualTo(PkceMethod.PLAIN);
        assertThat(o.groupsClaim()).isEqualTo("roles");
    }

    @Test
    void theSecretIsNeverPrinted() {
        ControlConfig c = parse("oidc:\n  issuer: https://sso.example\n  client_id: lattice\n  client_secret: s3cr3t-value\n");
        assertThat(c.oidc().clientSecret()).isEqualTo("s3cr3t-value");
        assertThat(c.toString()).doesNotContain("s3cr3t-value").contains("clientSecret=<redacted>");
    }

    @Test
    void theSecretPathHasItsEnvironmentExpandedAndItsContentTrimmed() throws Exception {
        Path creds = Files.createDirectories(dir.resolve("creds"));
        Files.writeString(creds.resolve("oidc_client_secret"), "  from-file\n");
        Section s = section("issuer: https://sso.example\nclient_id: lattice\nclient_secret_path: ${CREDENTIALS_DIRECTORY}/oidc_client_secret\n");
        ControlConfig.Oidc o = OidcSection.read(s, Path::of, Map.of("CREDENTIALS_DIRECTORY", creds.toString())::get);
        assertThat(o.clientSecret()).isEqualTo("from-file");

        Section unset = section("issuer: https://sso.example\nclient_id: lattice\nclient_secret_path: ${CREDENTIALS_DIRECTORY}/oidc_client_secret\n");
        assertThatThrownBy(() -> OidcSection.read(unset, Path::of, k -> null)).isInstanceOf(ConfigException.class)
                .hasMessage("oidc.client_secret_path: the file /oidc_client_secret does not exist (CREDENTIALS_DIRECTORY is not set)");
    }

    @Test
    void aRelativeSecretPathIsTheConfigDirectorys() throws Exception {
        Files.writeString(dir.resolve("secret"), "rel\n");
        assertThat(parse("oidc:\n  issuer: https://sso.example\n  client_id: x\n  client_secret_path: secret\n").oidc().clientSecret())
                .isEqualTo("rel");
    }

    @Test
    void expandEnvIsGos() {
        List<String> unset = new ArrayList<>();
        Map<String, String> env = Map.of("A", "1", "B_2", "two");
        assertThat(OidcSection.expandEnv("$A/${B_2}/$C/x$", env::get, unset)).isEqualTo("1/two//x$");
        assertThat(unset).containsExactly("C");
    }

    @Test
    void warnsWhenKeysAreSetWithoutAnIssuer() {
        ControlConfig c = parse("oidc:\n  client_id: lattice\n  allowed_domains: [example.com]\n");
        assertThat(c.oidc().enabled()).isFalse();
        assertThat(c.warnings()).containsExactly("oidc: oidc.issuer is not set, so OIDC login is off and the other oidc keys have no effect");
    }

    @Test
    void warnsThatEnabledFalseDoesNotTurnItOff() {
        ControlConfig c = parse("oidc:\n  enabled: false\n  issuer: https://sso.example\n  client_id: x\n  client_secret: y\n");
        assertThat(c.oidc().enabled()).isTrue();
        assertThat(c.warnings()).anySatisfy(w -> assertThat(w).startsWith("oidc.enabled: false has no effect"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "client_id: x\\n  client_secret: a\\n  client_secret_path: /b\\n | oidc.client_secret_path: oidc.client_secret and oidc.client_secret_path are mutually exclusive",
            "client_secret: a\\n | oidc.client_id: must be set when oidc.issuer is set",
            "client_id: x\\n  scope: [profile, email]\\n | oidc.scope: invalid value [profile, email] (must include openid)",
            "client_id: x\\n  pkce:\\n    method: S512\\n | oidc.pkce.method: invalid value \"S512\" (pkce.method must be either 'plain' or 'S256')",
            "client_id: x\\n  pkce:\\n    enabld: true\\n | oidc.pkce.enabld: unknown key (did you mean enabled?)",
            "client_id: x\\n  expiry: 180d\\n | oidc.expiry: removed, use node.expiry (or oidc.use_expiry_from_token)",
            "client_id: x\\n  strip_email_domain: true\\n | oidc.strip_email_domain: removed in Headscale 0.26",
            "client_id: x\\n  map_legacy_users: true\\n | oidc.map_legacy_users: removed in Headscale 0.26",
            "client_id: x\\n  groups_claim: ''\\n | oidc.groups_claim: must not be empty (the default is groups)",
            "client_id: x\\n  client_secret_path: /nonexistent/secret\\n | oidc.client_secret_path: the file /nonexistent/secret does not exist",
            "client_id: x\\n  allowed_groups: {a: b}\\n | oidc.allowed_groups: invalid value a mapping (expected a list)",
            "client_id: x\\n  extra_params: {state: fixed}\\n | oidc.extra_params: \"state\" is set by Lattice for each login and cannot be configured",
    })
    void refusals(String yaml, String message) {
        String text = "oidc:\n  issuer: https://sso.example\n  " + yaml.replace("\\n", "\n");
        assertThatThrownBy(() -> parse(text)).isInstanceOf(ConfigException.class).hasMessage(message);
    }

    @Test
    void aBadIssuerIsNamed() {
        assertThatThrownBy(() -> parse("oidc:\n  issuer: sso.example\n  client_id: x\n")).isInstanceOf(ConfigException.class)
                .hasMessage("oidc.issuer: invalid value \"sso.example\" (must start with https:// or http://)");
    }

    private static Section section(String yaml) throws Exception {
        var node = tools.jackson.dataformat.yaml.YAMLMapper.builder().build().readTree(yaml);
        return new Section("oidc", node, new Section.Report());
    }
}
