package dev.lattice.control.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.FilterRule;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Grants with {@code app} over ts2021: the destination's packet filter carries the CapGrant, the sources the
 * drive-sharer companion, an app-only grant makes them peers, and a policy without it takes all of that away.
 */
@Timeout(60)
class AppGrantsProtocolTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    static final String POLICY = """
            {
              "tagOwners": {"tag:files": ["alice@"]},
              "grants": [{"src": ["autogroup:member"], "dst": ["tag:files"],
                          "app": {"tailscale.com/cap/drive": [{"shares": ["*"], "access": "rw"}]}}],
            }
            """;

    @TempDir
    Path dir;
    PolicyTailnet tailnet;
    ControlServer server;

    @AfterEach
    void stop() {
        if (tailnet != null) tailnet.close();
    }

    @Test
    void appGrantsReachTheFiltersAndMakePeersUntilThePolicyDropsThem() throws Exception {
        tailnet = PolicyTailnet.start(dir, POLICY);
        server = tailnet.server();
        String key = tailnet.aliceKey();
        try (TestMachine files = tailnet.machine("files");
             TestMachine laptop = tailnet.machine("laptop")) {
            files.hostinfoExtra = h -> h.withRequestTags(List.of("tag:files"));
            for (TestMachine m : List.of(files, laptop)) {
                assertThat(m.register(key).error()).isNull();
                m.openStream();
            }
            TailnetNode f = node("files"), l = node("laptop");
            files.awaitView(WAIT, v -> v.hasPeer("laptop") && v.filter.size() == 1);
            laptop.awaitView(WAIT, v -> v.hasPeer("files") && v.filter.size() == 1);

            String grant = Tailcfg.json().writeValueAsString(files.view.filter.getFirst());
            assertThat(grant).isEqualTo("{\"SrcIPs\":[" + ips(l) + "],\"CapGrant\":[{\"Dsts\":[" + own(f)
                    + "],\"CapMap\":{\"tailscale.com/cap/drive\":[{\"shares\":[\"*\"],\"access\":\"rw\"}]}}]}");
            FilterRule companion = laptop.view.filter.getFirst();
            assertThat(Tailcfg.json().writeValueAsString(companion)).isEqualTo("{\"SrcIPs\":[" + ips(f) + "],\"CapGrant\":[{\"Dsts\":["
                    + own(l) + "],\"CapMap\":{\"tailscale.com/cap/drive-sharer\":null}}]}");

            server.adminApi().setPolicy("{\"tagOwners\": {\"tag:files\": [\"alice@\"]}, \"grants\": []}");
            files.awaitView(WAIT, v -> !v.hasPeer("laptop") && v.filter.isEmpty());
            laptop.awaitView(WAIT, v -> !v.hasPeer("files") && v.filter.isEmpty());
        }
    }

    private static String ips(TailnetNode n) {
        return "\"" + IpPrefix.format(n.ipv4()) + "\",\"" + IpPrefix.format(n.ipv6()) + "\"";
    }

    private static String own(TailnetNode n) {
        return "\"" + new IpPrefix(n.ipv4(), 32) + "\",\"" + new IpPrefix(n.ipv6(), 128) + "\"";
    }

    private TailnetNode node(String name) {
        return server.tailnet().nodes().stream().filter(n -> n.hostname().equals(name)).findFirst().orElseThrow();
    }
}
