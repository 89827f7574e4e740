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
 *
 * <p>A server that hands every viewer the same Node instance (lattice-control's peer views) is looked up by identity
 * first: hashing a whole node, Hostinfo and all, for each of N peers in each of N full maps was a cost of its own.
 */
public final class PeerJsonCache extends ValueSerializer<Node> {
    static final int MAX_ENTRIES = 1 << 15;
    private static final ConcurrentHashMap<Node, SerializedString> ENCODED = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<Same, SerializedString> BY_INSTANCE = new ConcurrentHashMap<>();

    /** A node compared by identity. */
    private record Same(Node node) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Same s && s.node == node;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(node);
        }
    }

    @Override
    public void serialize(Node value, JsonGenerator g, SerializationContext ctxt) {
        g.writeRawValue(encoded(value));
    }

    /**
     * The UTF-8 JSON this serializer writes for {@code value} (not to be modified): lets a server compress each peer
     * once and send a full map as concatenated zstd frames of exactly these bytes.
     */
    public static byte[] utf8(Node value) {
        return encoded(value).asUnquotedUTF8();
    }

    private static SerializedString encoded(Node value) {
        Same same = new Same(value);
        SerializedString raw = BY_INSTANCE.get(same);
        if (raw == null) {
            raw = ENCODED.get(value);
            if (raw == null) {
                raw = new SerializedString(Tailcfg.json().writeValueAsString(value));
                if (ENCODED.size() >= MAX_ENTRIES) ENCODED.clear();
                ENCODED.put(value, raw);
            }
            if (BY_INSTANCE.size() >= MAX_ENTRIES) BY_INSTANCE.clear();
            BY_INSTANCE.put(same, raw);
        }
        return raw;
    }

    static int size() {
        return ENCODED.size();
    }
}
