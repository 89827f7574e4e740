package dev.lattice.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kubernetes.client.openapi.models.V1Deployment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The validator the chart tests rely on refuses what the API server would: it must be able to fail. */
class KubeObjectsTest {
    private static final String DEPLOYMENT = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: r
            spec:
              replicas: 1
              selector:
                matchLabels: {app: r}
              template:
                metadata:
                  labels: {app: r}
                spec:
                  containers:
                    - name: latticed
                      image: latticed:0.1.0
                      resources:
                        requests: {cpu: 50m, memory: 192Mi}
                      securityContext:
                        capabilities:
                          add: [NET_ADMIN]
            """;

    @Test
    void aValidObjectParsesIntoItsModel() {
        var objects = KubeObjects.parse(DEPLOYMENT + "---\n");
        assertThat(objects).hasSize(1);
        V1Deployment d = (V1Deployment) objects.get(0).model();
        assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getSecurityContext().getCapabilities().getAdd())
                .containsExactly("NET_ADMIN");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            misspelled top-level spec field | replicas: 1       | replica: 1         | replica
            misspelled deep container field | - name: latticed  | - nme: latticed    | nme
            unknown securityContext field   | add: [NET_ADMIN]  | added: [NET_ADMIN] | added
            a kind in the wrong API group   | apiVersion: apps/v1 | apiVersion: v1   | apiVersion v1
            """)
    void misspelledOrMisplacedFieldsAreRefused(String what, String from, String to, String named) {
        String bad = DEPLOYMENT.replace(from, to);
        assertThat(bad).as(what).isNotEqualTo(DEPLOYMENT);
        assertThatThrownBy(() -> KubeObjects.parse(bad)).as(what).hasMessageContaining(named);
    }
}
