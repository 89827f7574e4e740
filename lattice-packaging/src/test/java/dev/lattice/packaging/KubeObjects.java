package dev.lattice.packaging;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import io.kubernetes.client.openapi.JSON;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.MappingIterator;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Kubernetes objects read strictly, offline: each YAML document becomes the official Java client's model class
 * for its kind, whose parser refuses any field the API does not define (a misspelled key fails, at any depth)
 * and any missing required field.
 */
final class KubeObjects {
    /** The API group/version each kind the chart uses belongs to; any other kind or version is an error. */
    static final Map<String, String> API_VERSIONS = Map.of(
            "ConfigMap", "v1", "Secret", "v1", "Service", "v1", "ServiceAccount", "v1",
            "PersistentVolumeClaim", "v1", "StatefulSet", "apps/v1", "Deployment", "apps/v1",
            "Role", "rbac.authorization.k8s.io/v1", "RoleBinding", "rbac.authorization.k8s.io/v1");

    private static final YAMLMapper YAML = YAMLMapper.builder().build();
    private static final JsonMapper JSON_MAPPER = JsonMapper.builder().build();

    /** One object: its kind, name, the parsed model, and the document as a tree for spot checks. */
    record KubeObject(String kind, String name, Object model, JsonNode tree) {}

    private KubeObjects() {}

    /** Every non-empty document of a multi-document YAML stream, validated. */
    static List<KubeObject> parse(String yaml) {
        List<KubeObject> out = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            while (it.hasNextValue()) {
                JsonNode doc = it.nextValue();
                if (doc == null || doc.isNull() || doc.isMissingNode() || doc.isEmpty()) continue;
                out.add(validate(doc));
            }
        }
        return out;
    }

    static KubeObject validate(JsonNode doc) {
        String kind = doc.path("kind").asString();
        String apiVersion = doc.path("apiVersion").asString();
        String expected = API_VERSIONS.get(kind);
        if (expected == null) throw new IllegalArgumentException("unexpected kind " + kind);
        if (!expected.equals(apiVersion)) {
            throw new IllegalArgumentException(kind + " has apiVersion " + apiVersion + ", expected " + expected);
        }
        String version = apiVersion.substring(apiVersion.indexOf('/') + 1);
        String className = "io.kubernetes.client.openapi.models." + Character.toUpperCase(version.charAt(0))
                + version.substring(1) + kind;
        Class<?> type;
        try {
            type = Class.forName(className);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("no model class " + className, e);
        }
        JsonElement json = JsonParser.parseString(JSON_MAPPER.writeValueAsString(doc));
        Object model = JSON.getGson().fromJson(json, type);
        return new KubeObject(kind, doc.path("metadata").path("name").asString(), model, doc);
    }
}
