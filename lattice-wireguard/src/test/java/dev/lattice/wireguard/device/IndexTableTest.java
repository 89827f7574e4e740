package dev.lattice.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The receiver-index table behaves as a map from index to entry, whatever the order of changes. */
class IndexTableTest {
    private static Keypair keypair(int localIndex) {
        return new Keypair(null, true, 0, localIndex, 0, new byte[32], new byte[32]);
    }

    @Test
    void matchesAMapUnderRandomChanges() {
        SplittableRandom rnd = new SplittableRandom(15);
        IndexTable t = new IndexTable();
        Map<Integer, Keypair> model = new HashMap<>();
        Map<Integer, Boolean> reserved = new HashMap<>();
        int[] used = new int[2000];
        int nUsed = 0;
        for (int step = 0; step < 20_000; step++) {
            int op = rnd.nextInt(4);
            if (op == 0 || nUsed == 0) {
                int i = t.newIndex(null);
                assertThat(reserved).doesNotContainKey(i);
                reserved.put(i, true);
                if (nUsed < used.length) used[nUsed++] = i;
            } else {
                int i = used[rnd.nextInt(nUsed)];
                switch (op) {
                    case 1 -> {
                        if (reserved.containsKey(i)) {
                            Keypair kp = keypair(i);
                            t.swapInKeypair(i, kp);
                            model.put(i, kp);
                        }
                    }
                    case 2 -> {
                        t.remove(i);
                        reserved.remove(i);
                        model.remove(i);
                    }
                    default -> {
                        // only the session that holds the index is forgotten, not another one's
                        Keypair stale = keypair(i);
                        t.deleteKeypair(stale);
                        if (rnd.nextBoolean() && model.containsKey(i)) {
                            t.deleteKeypair(model.remove(i));
                            reserved.remove(i);
                        }
                    }
                }
            }
            if (step % 97 == 0) {
                for (int k = 0; k < nUsed; k++) {
                    int i = used[k];
                    IndexTable.Entry e = t.lookup(i);
                    assertThat(e != null).as("index %d present", i).isEqualTo(reserved.containsKey(i));
                    if (e != null) assertThat(e.keypair()).isSameAs(model.get(i));
                }
                assertThat(t.size()).isEqualTo(reserved.size());
                assertThat(t.lookup(rnd.nextInt())).isNull(); // all but surely absent
            }
        }
    }

    @Test
    void lookupsAllocateNothing() {
        IndexTable t = new IndexTable();
        int i = t.newIndex(null);
        t.swapInKeypair(i, keypair(i));
        var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().threadId();
        for (int n = 0; n < 200_000; n++) t.lookup(i + (n & 1)); // warm, JIT-compiled
        long before = bean.getThreadAllocatedBytes(id);
        int found = 0;
        for (int n = 0; n < 100_000; n++) if (t.lookup(i + (n & 1)) != null) found++;
        long allocated = bean.getThreadAllocatedBytes(id) - before;
        assertThat(found).isEqualTo(50_000);
        assertThat(allocated).as("bytes allocated by 100,000 lookups").isLessThan(100_000);
    }
}
