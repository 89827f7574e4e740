package dev.lattice.control.netmap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.TailnetNode;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.DNSConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The capabilities every node gets in its own entry, as Headscale 0.29 sends them: admin and SSH always,
 * file-sharing while {@code taildrop.enabled}, default-auto-update carrying {@code auto_update.enabled}; and Tailscale's
 * {@code https} with the node's name in DNSConfig.CertDomains while {@code dns.certificates} (Lattice's).
 */
class NodeCapabilitiesTest {
    @TempDir
    Path dir;

    Map<String, List<JsonNode>> selfCaps(boolean taildrop, boolean autoUpdate) {
        try (Store store = Store.openSqlite(dir.resolve(taildrop + "-" + autoUpdate + ".sqlite"), Clock.systemUTC())) {
            IpAllocator ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
            Tailnet tailnet = new Tailnet(store, ips, Clock.systemUTC());
            long uid = store.users().create("u", null, null).id();
            TailnetNode n = tailnet.add(PrimaryRoutesTest.router(ips, "n", uid));
            TailcfgNodes nodes = new TailcfgNodes(tailnet, "example.test", taildrop, autoUpdate);
            assertThat(nodes.toTailcfg(n, false, CapabilityVersion.CURRENT).capMap()).as("peers carry no self caps").isNull();
            return nodes.toTailcfg(n, true, CapabilityVersion.CURRENT).capMap();
        }
    }

    @Test
    void taildropAndAutoUpdateFollowTheConfig() {
        Map<String, List<JsonNode>> on = selfCaps(true, true);
        assertThat(on).containsKeys("https://tailscale.com/cap/is-admin", "https://tailscale.com/cap/ssh",
                "https://tailscale.com/cap/file-sharing");
        assertThat(on.get("default-auto-update")).singleElement().satisfies(v -> assertThat(v.asBoolean()).isTrue());

        Map<String, List<JsonNode>> off = selfCaps(false, false);
        assertThat(off).containsKeys("https://tailscale.com/cap/is-admin", "https://tailscale.com/cap/ssh")
                .doesNotContainKey("https://tailscale.com/cap/file-sharing");
        assertThat(off.get("default-auto-update")).singleElement().satisfies(v -> assertThat(v.asBoolean()).isFalse());
    }

    @Test
    void certificatesGiveTheHttpsCapabilityAndTheNodesOwnNameAsCertDomain() {
        try (Store store = Store.openSqlite(dir.resolve("https.sqlite"), Clock.systemUTC())) {
            IpAllocator ips = IpAllocator.fromStore(ControlConfig.defaults().prefixes(), store.nodes());
            Tailnet tailnet = new Tailnet(store, ips, Clock.systemUTC());
            long uid = store.users().create("u", null, null).id();
            TailnetNode n = tailnet.add(PrimaryRoutesTest.router(ips, "web", uid));
            TailcfgNodes on = new TailcfgNodes(tailnet, "example.test", true, false, true);
            assertThat(on.toTailcfg(n, true, CapabilityVersion.CURRENT).capMap()).containsEntry("https", List.of());
            assertThat(on.certDomain(n)).isEqualTo(n.givenName() + ".example.test");
            TailcfgNodes off = new TailcfgNodes(tailnet, "example.test", true, false, false);
            assertThat(off.toTailcfg(n, true, CapabilityVersion.CURRENT).capMap()).doesNotContainKey("https");

            DNSConfig base = DnsConfigs.build(ControlConfig.defaults().dns());
            MapSessions withCerts = new MapSessions(tailnet, on, () -> null, () -> base, "example.test");
            MapSessions without = new MapSessions(tailnet, off, () -> null, () -> base, "example.test");
            try (withCerts; without) {
                assertThat(withCerts.dnsConfigFor(n).certDomains()).containsExactly(n.givenName() + ".example.test");
                assertThat(withCerts.dnsConfigFor(n).toBuilder().certDomains(null).build()).isEqualTo(base);
                assertThat(without.dnsConfigFor(n)).isSameAs(base);
            }
        }
    }

    @Test
    void theConfigDefaultsAreHeadscales() {
        ControlConfig d = ControlConfig.defaults();
        assertThat(d.taildropEnabled()).isTrue();
        assertThat(d.autoUpdateEnabled()).isFalse();
    }
}
