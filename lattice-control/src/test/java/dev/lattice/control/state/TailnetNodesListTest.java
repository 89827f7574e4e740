package dev.lattice.control.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Tailnet#nodes()} and {@link Tailnet#routers()} stay current and sorted by ID when nodes are updated in place
 * (the lists are patched, not rebuilt, on an update), added and removed.
 */
class TailnetNodesListTest {
    @TempDir
    Path dir;
    SqliteTailnet fixture;
    Tailnet tailnet;

    @BeforeEach
    void open() {
        fixture = new SqliteTailnet(dir);
        tailnet = fixture.tailnet;
    }

    @AfterEach
    void close() {
        fixture.close();
    }

    private TailnetNode add(String hostname) {
        return fixture.add(hostname, hostname);
    }

    /** What nodes() must be: every node as the tailnet holds it now, by ID. */
    private List<TailnetNode> expected() {
        List<TailnetNode> all = new ArrayList<>();
        for (TailnetNode n : tailnet.nodes()) all.add(tailnet.node(n.id()).orElseThrow());
        all.sort(Comparator.comparingLong(TailnetNode::id));
        return all;
    }

    @Test
    void updatesAdditionsAndRemovalsShowInTheSortedListsAtOnce() {
        List<TailnetNode> nodes = new ArrayList<>();
        for (int i = 0; i < 20; i++) nodes.add(add("n" + i));
        assertThat(tailnet.nodes()).extracting(TailnetNode::id).isSorted().hasSize(20);
        assertThat(tailnet.routers()).isEmpty();

        // Updates in place, read back between them: every list returned holds the newest version, by ID.
        for (int i = 0; i < 20; i += 3) {
            long id = nodes.get(i).id();
            tailnet.update(id, Change.Kind.UPDATED, n -> n.toBuilder().hostname("renamed-" + id).build(), null);
            List<TailnetNode> now = tailnet.nodes();
            assertThat(now).extracting(TailnetNode::id).isSorted();
            assertThat(now).isEqualTo(expected());
            assertThat(now).filteredOn(n -> n.id() == id).singleElement()
                    .extracting(TailnetNode::hostname).isEqualTo("renamed-" + id);
        }
        List<TailnetNode> before = tailnet.nodes();

        // A node gaining approved routes joins the routers; one losing them leaves.
        long router = nodes.get(5).id();
        tailnet.update(router, Change.Kind.UPDATED,
                n -> n.toBuilder().approvedRoutes(List.of(IpPrefix.parse("10.1.0.0/16"))).build(), null);
        assertThat(tailnet.routers()).extracting(TailnetNode::id).containsExactly(router);
        tailnet.update(nodes.get(6).id(), Change.Kind.UPDATED, n -> n.toBuilder().hostname("other").build(), null);
        assertThat(tailnet.routers()).extracting(TailnetNode::id).containsExactly(router);
        assertThat(tailnet.routers().getFirst()).isEqualTo(tailnet.node(router).orElseThrow());
        tailnet.update(router, Change.Kind.UPDATED, n -> n.toBuilder().approvedRoutes(List.of()).build(), null);
        assertThat(tailnet.routers()).isEmpty();

        TailnetNode late = add("late");
        assertThat(tailnet.nodes()).hasSize(21).isEqualTo(expected()).extracting(TailnetNode::id).contains(late.id());
        // A list handed out earlier is not changed under its reader.
        assertThat(before).hasSize(20).extracting(TailnetNode::hostname).contains("n5");
    }
}
