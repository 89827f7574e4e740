package dev.lattice.wire.tailcfg;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.io.SerializedString;
import tools.jackson.databind.SerializationContext;
import tools.jackson.databind.ValueSerializer;

/**
 * Writes a large string list (a FilterRule's SrcIPs) from its JSON encoded once: a control server hands the same
 * compiled source list to thousands of nodes' filters, and encoding it again for each node was most of the cost of
 * sending a policy change. Only large unmodifiable lists are kept (a list that can change cannot key a cache); the
 * rest are written as usual. Entries go with their lists (weak keys).
 */
public final class SharedListSerializer extends ValueSerializer<List<String>> {
    static final int MIN_SHARED = 64;
    private static final Map<List<String>, SerializedString> ENCODED = Collections.synchronizedMap(new WeakHashMap<>());

    @Override
    public void serialize(List<String> value, JsonGenerator g, SerializationContext ctxt) {
        // List.copyOf returns an unmodifiable list as it is.
        if (value.size() < MIN_SHARED || List.copyOf(value) != value) {
            g.writeStartArray(value, value.size());
            for (String s : value) g.writeString(s);
            g.writeEndArray();
            return;
        }
        SerializedString raw = ENCODED.get(value);
        if (raw == null) {
            raw = new SerializedString(Tailcfg.json().writeValueAsString(value));
            ENCODED.put(value, raw);
        }
        g.writeRawValue(raw);
    }
}
