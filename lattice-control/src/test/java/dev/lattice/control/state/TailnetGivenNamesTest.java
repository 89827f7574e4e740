package dev.lattice.control.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.DnsLabels;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.tailcfg.Hostinfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Given names in the tailnet, as Headscale's NodeStore keeps them (node_store_hostname_test.go): unique with
 * {@code -1}, {@code -2}... on collision, a node keeps its own name, and they follow hostname changes unless an
 * admin renamed the node.
 */
class TailnetGivenNamesTest {
    @TempDir
    Path dir;
    SqliteTailnet fixture;
    Store store;
    Tailnet tailnet;

    @BeforeEach
    void open() {
        fixture = new SqliteTailnet(dir);
        store = fixture.store;
        tailnet = fixture.tailnet;
    }

    @AfterEach
    void close() {
        fixture.close();
    }

    private TailnetNode add(String hostname) {
        return fixture.add(hostname, DnsLabels.sanitize(hostname));
    }

    /** What a client's Hostinfo change does to the stored node (MapRequests, Registrations). */
    private TailnetNode report(TailnetNode n, String hostname) {
        return tailnet.update(n.id(), Change.Kind.UPDATED,
                x -> tailnet.withReportedHostinfo(x, hostname, Hostinfo.empty().withHostname(hostname)))
                .orElseThrow();
    }

    @Test
    void collisionsBumpAndAFreedNameIsReused() {
        assertThat(add("laptop").givenName()).isEqualTo("laptop");
        TailnetNode second = add("LAPTOP");
        assertThat(second.givenName()).isEqualTo("laptop-1");
        assertThat(add("laptop.local").givenName()).isEqualTo("laptop-2");
        tailnet.delete(second.id());
        assertThat(add("laptop").givenName()).isEqualTo("laptop-1");
        assertThat(tailnet.uniqueGivenName("laptop", tailnet.nodes().get(0).id())).as("a node keeps its own name").isEqualTo("laptop");
    }

    @Test
    void emptyHostnamesFallBackToNodeAndBump() {
        assertThat(add("").givenName()).isEqualTo("node");
        assertThat(add("我的电脑").givenName()).isEqualTo("node-1");
    }

    @Test
    void suffixedLabelsStayWithinSixtyThreeCharacters() {
        String long63 = "a".repeat(63);
        add(long63);
        TailnetNode next = add(long63 + "bbb");
        assertThat(next.givenName()).hasSize(63).endsWith("-1");
        assertThat(DnsLabels.isValid(next.givenName())).isTrue();
    }

    @Test
    void concurrentRegistrationsOfOneHostnameAllGetTheirOwnName() throws Exception {
        int n = 20;
        List<Future<TailnetNode>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            for (int i = 0; i < n; i++) futures.add(pool.submit(() -> add("laptop")));
        }
        Set<String> names = new HashSet<>();
        for (Future<TailnetNode> f : futures) names.add(f.get().givenName());
        Set<String> want = new HashSet<>();
        want.add("laptop");
        for (int i = 1; i < n; i++) want.add("laptop-" + i);
        assertThat(names).isEqualTo(want);
    }

    @Test
    void theGivenNameFollowsHostnameChangesKeepingTheRawHostname() {
        TailnetNode n = add("laptop");
        n = report(n, "Joe's Mac mini");
        assertThat(n.hostname()).isEqualTo("Joe's Mac mini");
        assertThat(n.givenName()).isEqualTo("joes-mac-mini");
        n = report(n, "Test@Host");
        assertThat(n.givenName()).isEqualTo("test-host");
        n = report(n, "mail.server");
        assertThat(n.givenName()).isEqualTo("mail-server");
        assertThat(store.nodes().get(n.id()).orElseThrow().givenName()).as("stored").isEqualTo("mail-server");
    }

    @Test
    void aFollowingNameBumpsWhenTheNewOneIsTakenAndABumpedNameFollowsToo() {
        add("mail-server");
        TailnetNode n = add("laptop");
        n = report(n, "mail.server");
        assertThat(n.givenName()).isEqualTo("mail-server-1");
        n = report(n, "desk");
        assertThat(n.givenName()).as("mail-server-1 was derived from mail.server").isEqualTo("desk");
    }

    @Test
    void anUnchangedHostnameKeepsTheNameEvenWhenTheBaseIsFreeAgain() {
        TailnetNode first = add("laptop");
        TailnetNode second = add("laptop");
        tailnet.delete(first.id());
        TailnetNode after = report(second, "laptop");
        assertThat(after.givenName()).isEqualTo("laptop-1");
    }

    @Test
    void anAdminRenameIsNotOverwrittenByLaterHostnameChanges() {
        TailnetNode n = add("laptop");
        n = tailnet.update(n.id(), Change.Kind.UPDATED, x -> x.toBuilder().givenName("workhorse").build()).orElseThrow();
        n = report(n, "Joe's Mac mini");
        assertThat(n.hostname()).isEqualTo("Joe's Mac mini");
        assertThat(n.givenName()).isEqualTo("workhorse");
        n = report(n, "desk");
        assertThat(n.givenName()).isEqualTo("workhorse");
    }
}
