package dev.lattice.control.store;

import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/** String lists stored as JSON arrays in TEXT columns (tags, endpoints, routes), as Headscale stores them. */
final class JsonLists {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final TypeReference<List<String>> STRINGS = new TypeReference<>() {};

    private JsonLists() {}

    static String encode(List<String> list) {
        return JSON.writeValueAsString(list == null ? List.of() : list);
    }

    static List<String> decode(String text, String column) {
        if (text == null || text.isEmpty()) return List.of();
        try {
            List<String> v = JSON.readValue(text, STRINGS);
            return v == null ? List.of() : List.copyOf(v);
        } catch (JacksonException | NullPointerException e) {
            throw new StoreException("column " + column + " does not hold a JSON list of strings");
        }
    }
}
