package dev.lattice.wire.tailcfg;

import java.util.concurrent.ConcurrentHashMap;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.io.SerializedString;
import tools.jackson.databind.SerializationContext;
import tools.jackson.databind.ValueSerializer;

/**
 * Writes the peers of a MapResponse from their JSON encoded once per distinct value: a full map sends each node to
 * most of the tailnet, the same for every viewer but for routes, and encoding it again for each viewer was most of
 * the cost of a full map. Keyed by value (records compare by content), so a changed node is encoded afresh; the
 * cache starts over when it is full rather than tracking ages, which only costs re-encoding.
 */
public final class PeerJsonCache extends ValueSerializer<Node> {
    static final int MAX_ENTRIES = 1 << 15;
    private static final ConcurrentHashMap<Node, SerializedString> ENCODED = new ConcurrentHashMap<>();

    @Override
    public void serialize(Node value, JsonGenerator g, SerializationContext ctxt) {
        SerializedString raw = ENCODED.get(value);
        if (raw == null) {
            raw = new SerializedString(Tailcfg.json().writeValueAsString(value));
            if (ENCODED.size() >= MAX_ENTRIES) ENCODED.clear();
            ENCODED.put(value, raw);
        }
        g.writeRawValue(raw);
    }

    static int size() {
        return ENCODED.size();
    }
}
