package dev.lattice.agent.filter;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The last {@value #MAX} UDP/SCTP flows this node started (tailscale's flowtrack LRU, lruMax = 512), keyed by
 * the 5-tuple a reply would carry. Bounded: the least recently used flow is forgotten first.
 */
final class FlowCache {
    static final int MAX = 512;

    private final LinkedHashMap<Key, Boolean> lru = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Boolean> eldest) {
            return size() > MAX;
        }
    };

    synchronized void add(Key k) {
        lru.put(k, Boolean.TRUE);
    }

    synchronized boolean contains(Key k) {
        return lru.get(k) != null;
    }

    synchronized int size() {
        return lru.size();
    }

    /** proto, source address and port, destination address and port, as one byte string. */
    static final class Key {
        private final byte[] bytes;
        private final int hash;

        private Key(byte[] bytes) {
            this.bytes = bytes;
            this.hash = Arrays.hashCode(bytes);
        }

        static Key of(int proto, byte[] b, int srcOff, int srcPort, int dstOff, int dstPort, int addrLen) {
            byte[] k = new byte[1 + 2 * (addrLen + 2)];
            k[0] = (byte) proto;
            System.arraycopy(b, srcOff, k, 1, addrLen);
            k[1 + addrLen] = (byte) (srcPort >>> 8);
            k[2 + addrLen] = (byte) srcPort;
            System.arraycopy(b, dstOff, k, 3 + addrLen, addrLen);
            k[3 + 2 * addrLen] = (byte) (dstPort >>> 8);
            k[4 + 2 * addrLen] = (byte) dstPort;
            return new Key(k);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
