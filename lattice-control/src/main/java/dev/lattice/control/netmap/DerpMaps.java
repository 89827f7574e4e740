package dev.lattice.control.netmap;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DERPNode;
import dev.lattice.wire.tailcfg.DERPRegion;
import dev.lattice.wire.tailcfg.Tailcfg;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.MapperFeature;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Builds the DERP map sent to every node, as headscale does: regions from {@code derp.urls} (JSON, e.g. Tailscale's
 * public map), from {@code derp.paths} (YAML/JSON files), and the embedded region when
 * {@code automatically_add_embedded_derp_region} is set. Later sources replace regions with the same ID.
 *
 * <p>A {@link DerpMaps} instance loads the map again on each {@link #load()} (every {@code derp.update_frequency}
 * while {@code derp.auto_update_enabled}); a source that fails then keeps what it last gave, so a flaky URL does
 * not take its regions away from the clients.
 */
public final class DerpMaps {
    private static final Logger log = LoggerFactory.getLogger(DerpMaps.class);
    // Headscale's DERP files are Go YAML with lower-case keys (regionid, hostname, ...).
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private final ControlConfig cfg;
    private final Map<Object, DERPMap> lastGood = new java.util.HashMap<>();
    /** The embedded region's nodes: this server alone, or (replicas) every live replica, this one first. */
    private volatile Supplier<List<DERPNode>> embeddedNodes;

    public DerpMaps(ControlConfig cfg) {
        this.cfg = cfg;
        this.embeddedNodes = () -> List.of(embeddedNode(cfg));
    }

    /** Replicas: the embedded region lists these nodes (in this order) from the next {@link #load()} on. */
    public void embeddedNodes(Supplier<List<DERPNode>> nodes) {
        this.embeddedNodes = nodes;
    }

    /** Whether the map is to be loaded again every {@code update_frequency}: Headscale's condition. */
    public static boolean refreshes(ControlConfig cfg) {
        return cfg.derp().autoUpdateEnabled() && !cfg.derp().updateFrequency().isZero()
                && (!cfg.derp().urls().isEmpty() || !cfg.derp().paths().isEmpty());
    }

    /** Loads every source now; one that fails contributes what it last loaded (nothing before its first success). */
    public synchronized DERPMap load() {
        Map<Integer, DERPRegion> regions = new TreeMap<>();
        for (URI url : cfg.derp().urls()) {
            try {
                lastGood.put(url, fetch(url));
            } catch (IOException | RuntimeException e) {
                log.warn("could not load DERP map from {}: {}{}", url, e.getMessage(), lastGood.containsKey(url) ? " (keeping the last one)" : "");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            merge(regions, lastGood.get(url));
        }
        for (Path p : cfg.derp().paths()) {
            try {
                lastGood.put(p, YAML.readValue(Files.readString(p), DERPMap.class));
            } catch (IOException | RuntimeException e) {
                log.warn("could not load DERP map file {}: {}{}", p, e.getMessage(), lastGood.containsKey(p) ? " (keeping the last one)" : "");
            }
            merge(regions, lastGood.get(p));
        }
        ControlConfig.DerpServer s = cfg.derp().server();
        if (s.enabled() && s.automaticallyAddEmbeddedDerpRegion()) {
            regions.put(s.regionId(), embeddedRegion(cfg, embeddedNodes.get()));
        }
        return new DERPMap(null, regions, null);
    }

    /**
     * This server's node of the embedded region: host and port from {@code derp.server.url} (default server_url),
     * {@code ipv4}/{@code ipv6} as configured, STUN on the configured port. Named after the region, as Headscale's.
     */
    public static DERPNode embeddedNode(ControlConfig cfg) {
        ControlConfig.DerpServer s = cfg.derp().server();
        URI u = cfg.derpUrl();
        boolean https = "https".equalsIgnoreCase(u.getScheme());
        int port = u.getPort() > 0 ? u.getPort() : https ? 443 : 80;
        return DERPNode.builder()
                .name(Integer.toString(s.regionId()))
                .regionId(s.regionId())
                .hostName(u.getHost())
                .ipv4(s.ipv4() == null ? null : s.ipv4().getHostAddress())
                .ipv6(s.ipv6() == null ? null : s.ipv6().getHostAddress())
                .stunPort(s.stunEnabled() && s.stunListenAddr() != null ? s.stunListenAddr().port() : -1)
                .derpPort(port)
                .build();
    }

    /** The embedded region with these nodes (this server's alone unless replicas mesh). */
    public static DERPRegion embeddedRegion(ControlConfig cfg, List<DERPNode> nodes) {
        ControlConfig.DerpServer s = cfg.derp().server();
        return new DERPRegion(s.regionId(), s.regionCode(), s.regionName(), null, null, null, null, List.copyOf(nodes));
    }

    private static void merge(Map<Integer, DERPRegion> into, DERPMap m) {
        if (m == null || m.regions() == null) return;
        m.regions().forEach((id, r) -> {
            if (r != null) into.put(id, r);
        });
    }

    private static DERPMap fetch(URI url) throws IOException, InterruptedException {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
            HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(20)).GET().build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) throw new IOException("HTTP " + r.statusCode());
            return Tailcfg.json().readValue(r.body(), DERPMap.class);
        }
    }
}
