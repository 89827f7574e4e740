package dev.lattice.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.packaging.KubeObjects.KubeObject;
import io.kubernetes.client.openapi.models.V1Secret;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * deploy/kubernetes/lattice.yaml, for those who apply manifests without Helm: every object parses strictly into
 * the Kubernetes API types, and the control server's config in it loads cleanly. Needs no helm.
 */
class KubernetesManifestsTest {
    @Test
    void everyObjectIsAValidKubernetesObjectAndTheConfigLoads() {
        List<KubeObject> objs = KubeObjects.parse(Build.read(Build.repo().resolve("deploy/kubernetes/lattice.yaml")));
        assertThat(objs).extracting(KubeObject::kind).contains("StatefulSet", "Deployment", "Service", "ConfigMap",
                "Secret", "ServiceAccount", "Role", "RoleBinding", "PersistentVolumeClaim");
        assertThat(objs).allSatisfy(o -> assertThat(o.tree().path("metadata").path("namespace").asString())
                .as("%s %s", o.kind(), o.name()).isEqualTo("lattice"));
        V1Secret config = LatticeChartTest.one(objs, "Secret", V1Secret.class, "lattice-control-config");
        ControlConfig cfg = ControlConfig.parse(config.getStringData().get("config.yaml"), Path.of("/"));
        assertThat(cfg.unsupportedKeys()).isEmpty();
        assertThat(cfg.warnings()).isEmpty();
    }
}
