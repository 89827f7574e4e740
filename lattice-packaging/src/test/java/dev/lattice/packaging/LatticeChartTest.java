package dev.lattice.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.packaging.KubeObjects.KubeObject;
import dev.lattice.testlab.ExecResult;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1EnvVar;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * deploy/helm/lattice: {@code helm lint --strict} passes and {@code helm template} renders, with the default
 * values and with ci/*-values.yaml (every switch the other way); every rendered object parses strictly into the
 * Kubernetes API types (see {@link KubeObjects}); the objects are the seed architecture (control StatefulSet with
 * its volume, Service, ConfigMap, Secret; subnet-router Deployment with ServiceAccount/RBAC and NET_ADMIN); the
 * config the chart writes loads in lattice-control as is; and deploy/kubernetes/lattice.yaml is the default render.
 */
class LatticeChartTest {
    static final Path CHART = Build.repo().resolve("deploy/helm/lattice");
    static final String ALT_VALUES = "ci/postgres-tls-userspace-values.yaml";

    static List<KubeObject> render(String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("template", "lattice", CHART.toString(), "--namespace", "lattice"));
        for (String v : extra) args.addAll(List.of("-f", CHART.resolve(v).toString()));
        ExecResult r = Helm.run(args.toArray(String[]::new));
        assertThat(r.ok()).as(r.describe()).isTrue();
        return KubeObjects.parse(r.stdout());
    }

    static String renderText() {
        ExecResult r = Helm.run("template", "lattice", CHART.toString(), "--namespace", "lattice");
        assertThat(r.ok()).as(r.describe()).isTrue();
        return r.stdout();
    }

    @ParameterizedTest(name = "values: {0}")
    @ValueSource(strings = {"default", ALT_VALUES})
    void lintsStrictly(String values) {
        ExecResult r = values.equals("default") ? Helm.run("lint", "--strict", CHART.toString())
                : Helm.run("lint", "--strict", CHART.toString(), "-f", CHART.resolve(values).toString());
        assertThat(r.ok()).as(r.describe()).isTrue();
        assertThat(r.stdout()).contains("0 chart(s) failed");
    }

    @Test
    void defaultRenderIsTheSeedArchitecture() {
        Map<String, List<String>> byKind = render().stream().collect(Collectors.groupingBy(KubeObject::kind,
                java.util.TreeMap::new, Collectors.mapping(KubeObject::name, Collectors.toList())));
        assertThat(byKind).containsExactlyInAnyOrderEntriesOf(Map.of(
                "StatefulSet", List.of("lattice-control"),
                "Service", List.of("lattice-control", "lattice-control-headless"),
                "ConfigMap", List.of("lattice-control-policy"),
                "Secret", List.of("lattice-control-config"),
                "Deployment", List.of("lattice-router"),
                "ServiceAccount", List.of("lattice-router"),
                "Role", List.of("lattice-router"),
                "RoleBinding", List.of("lattice-router"),
                "PersistentVolumeClaim", List.of("lattice-router-state")));
    }

    @ParameterizedTest(name = "values: {0}")
    @ValueSource(strings = {"default", ALT_VALUES})
    void controlServerKeepsItsStateOnAVolumeAndItsConfigLoads(String values) {
        List<KubeObject> objs = values.equals("default") ? render() : render(values);
        V1StatefulSet sts = one(objs, "StatefulSet", V1StatefulSet.class);
        assertThat(sts.getSpec().getReplicas()).as("one writer for SQLite").isEqualTo(1);
        assertThat(sts.getSpec().getVolumeClaimTemplates()).singleElement()
                .satisfies(pvc -> assertThat(pvc.getMetadata().getName()).isEqualTo("data"));
        V1Container c = sts.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(c.getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getName()).isEqualTo("data");
            assertThat(m.getMountPath()).isEqualTo("/var/lib/lattice");
        });
        assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
        assertThat(c.getResources().getLimits()).containsKey("memory");
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/health");

        V1Secret secret = one(objs, "Secret", V1Secret.class, "lattice-control-config");
        ControlConfig cfg = ControlConfig.parse(secret.getStringData().get("config.yaml"), Path.of("/"));
        assertThat(cfg.unsupportedKeys()).isEmpty();
        assertThat(cfg.warnings()).isEmpty();
        assertThat(cfg.listenAddr().port()).isEqualTo(8080);
        assertThat(cfg.noisePrivateKeyPath()).startsWithRaw(Path.of("/var/lib/lattice"));
        assertThat(cfg.unixSocket()).as("the admin socket where `kubectl exec ... lattice-control` finds it")
                .startsWithRaw(Path.of("/var/lib/lattice"));
        if (values.equals("default")) {
            assertThat(cfg.serverUrl().toString()).isEqualTo("http://lattice-control.lattice.svc:8080");
            assertThat(cfg.database().sqlite().path()).isEqualTo(Path.of("/var/lib/lattice/db.sqlite"));
        } else {
            assertThat(cfg.serverUrl().toString()).isEqualTo("https://vpn.example.com");
            assertThat(cfg.tls().certPath()).isEqualTo(Path.of("/etc/lattice-tls/tls.crt"));
            assertThat(cfg.database().postgres().host()).isEqualTo("postgres.db.svc");
        }
    }

    @Test
    void subnetRouterTakesItsKeyFromASecretAndTheRestFromLatticeEnvironment() {
        V1Deployment d = one(render(), "Deployment", V1Deployment.class);
        assertThat(d.getSpec().getStrategy().getType()).as("one identity on a RWO volume").isEqualTo("Recreate");
        var pod = d.getSpec().getTemplate().getSpec();
        assertThat(pod.getServiceAccountName()).isEqualTo("lattice-router");
        assertThat(pod.getAutomountServiceAccountToken()).isFalse();
        V1Container c = pod.getContainers().get(0);
        Map<String, V1EnvVar> env = c.getEnv().stream().collect(Collectors.toMap(V1EnvVar::getName, e -> e));
        assertThat(env).containsOnlyKeys("LATTICE_AUTHKEY", "LATTICE_ROUTES", "LATTICE_HOSTNAME", "LATTICE_STATE_DIR",
                "LATTICE_EXTRA_ARGS", "LATTICE_USERSPACE", "LATTICE_JAVA_OPTS");
        assertThat(env.get("LATTICE_AUTHKEY").getValue()).as("never inline").isNull();
        assertThat(env.get("LATTICE_AUTHKEY").getValueFrom().getSecretKeyRef().getName()).isEqualTo("lattice-router-authkey");
        assertThat(env.get("LATTICE_EXTRA_ARGS").getValue()).contains("--login-server=http://lattice-control.lattice.svc:8080");
        assertThat(env.get("LATTICE_STATE_DIR").getValue()).isEqualTo("/var/lib/latticed");
        assertThat(c.getSecurityContext().getCapabilities().getAdd()).containsExactly("NET_ADMIN");
        assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
        assertThat(c.getVolumeMounts()).anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/dev/net/tun"));
        assertThat(pod.getVolumes()).anySatisfy(v -> assertThat(v.getPersistentVolumeClaim().getClaimName())
                .isEqualTo("lattice-router-state"));
    }

    @Test
    void userspaceRouterNeedsNoPrivilegeAndAnInlineKeyBecomesASecret() {
        List<KubeObject> objs = render(ALT_VALUES);
        V1Deployment d = one(objs, "Deployment", V1Deployment.class);
        var pod = d.getSpec().getTemplate().getSpec();
        assertThat(pod.getInitContainers()).as("no forwarding sysctls in userspace mode").isNullOrEmpty();
        V1Container c = pod.getContainers().get(0);
        assertThat(c.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(c.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
        assertThat(c.getImage()).isEqualTo("registry.example.com/lattice/latticed:0.1.0-test");
        assertThat(c.getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("LATTICE_ROUTES");
            assertThat(e.getValue()).isEqualTo("10.96.0.0/12,10.244.0.0/16");
        });
        V1Secret key = one(objs, "Secret", V1Secret.class, "lattice-router-authkey");
        assertThat(key.getStringData()).containsEntry("LATTICE_AUTHKEY", "lattice-auth-example");
        assertThat(objs).noneMatch(o -> o.kind().equals("PersistentVolumeClaim") || o.kind().equals("Role"));
    }

    @Test
    void plainManifestsAreTheDefaultRender() {
        String committed = Build.read(Build.repo().resolve("deploy/kubernetes/lattice.yaml"));
        String body = committed.lines().dropWhile(l -> l.startsWith("# Generated") || l.startsWith("# Apply"))
                .collect(Collectors.joining("\n", "", "\n"));
        assertThat(body).as("deploy/kubernetes/lattice.yaml is stale: run deploy/render-manifests.sh")
                .isEqualTo(renderText());
    }

    static <T> T one(List<KubeObject> objs, String kind, Class<T> type) {
        List<KubeObject> found = objs.stream().filter(o -> o.kind().equals(kind)).toList();
        assertThat(found).as(kind).hasSize(1);
        return type.cast(found.get(0).model());
    }

    static <T> T one(List<KubeObject> objs, String kind, Class<T> type, String name) {
        List<KubeObject> found = objs.stream().filter(o -> o.kind().equals(kind) && o.name().equals(name)).toList();
        assertThat(found).as(kind + " " + name).hasSize(1);
        return type.cast(found.get(0).model());
    }
}
