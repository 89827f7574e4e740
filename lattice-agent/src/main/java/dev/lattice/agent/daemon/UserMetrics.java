package dev.lattice.agent.daemon;

import dev.lattice.metrics.Metrics;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import java.util.function.LongSupplier;

/**
 * latticed's metrics for {@code GET /localapi/v0/usermetrics}, named as tailscaled's client metrics where latticed
 * counts the same thing: WireGuard packets and bytes relayed through DERP ({@code path="derp"}), inbound packets
 * the packet filter dropped ({@code reason="acl"}), outbound packets that could not be sent
 * ({@code reason="error"}), the home DERP region and the health warnings. Direct UDP traffic is not yet counted by
 * path (the WireGuard device counts it per peer only): {@code latticed_wireguard_bytes_total} has the total of all
 * paths. JVM and process metrics come along.
 */
public final class UserMetrics {
    private UserMetrics() {}

    /** Where the values come from; each is read at scrape time. */
    public record Sources(LongSupplier derpPacketsIn, LongSupplier derpBytesIn, LongSupplier derpPacketsOut,
                          LongSupplier derpBytesOut, LongSupplier aclDropsIn, LongSupplier errorDropsOut,
                          LongSupplier homeDerpRegion, LongSupplier healthWarnings, LongSupplier wireguardBytesIn,
                          LongSupplier wireguardBytesOut) {}

    public static Metrics create(Sources s) {
        Metrics m = new Metrics().withJvm();
        CounterWithCallback.builder().name("tailscaled_inbound_packets_total").help("Counts the number of packets received from other peers")
                .labelNames("path").callback(cb -> cb.call(s.derpPacketsIn().getAsLong(), "derp")).register(m.registry());
        CounterWithCallback.builder().name("tailscaled_inbound_bytes_total").help("Counts the number of bytes received from other peers")
                .labelNames("path").callback(cb -> cb.call(s.derpBytesIn().getAsLong(), "derp")).register(m.registry());
        CounterWithCallback.builder().name("tailscaled_outbound_packets_total").help("Counts the number of packets sent to other peers")
                .labelNames("path").callback(cb -> cb.call(s.derpPacketsOut().getAsLong(), "derp")).register(m.registry());
        CounterWithCallback.builder().name("tailscaled_outbound_bytes_total").help("Counts the number of bytes sent to other peers")
                .labelNames("path").callback(cb -> cb.call(s.derpBytesOut().getAsLong(), "derp")).register(m.registry());
        CounterWithCallback.builder().name("tailscaled_inbound_dropped_packets_total")
                .help("Counts the number of dropped packets received by the node from other peers")
                .labelNames("reason").callback(cb -> cb.call(s.aclDropsIn().getAsLong(), "acl")).register(m.registry());
        CounterWithCallback.builder().name("tailscaled_outbound_dropped_packets_total")
                .help("Counts the number of packets dropped while being sent to other peers")
                .labelNames("reason").callback(cb -> cb.call(s.errorDropsOut().getAsLong(), "error")).register(m.registry());
        m.gauge("tailscaled_home_derp_region_id", "DERP region ID of this node's home relay server", () -> s.homeDerpRegion().getAsLong());
        GaugeWithCallback.builder().name("tailscaled_health_messages").help("Number of health messages broken down by type.")
                .labelNames("type").callback(cb -> cb.call(s.healthWarnings().getAsLong(), "warning")).register(m.registry());
        CounterWithCallback.builder().name("latticed_wireguard_bytes").help("WireGuard bytes exchanged with peers on all paths")
                .labelNames("direction").callback(cb -> {
                    cb.call(s.wireguardBytesIn().getAsLong(), "received");
                    cb.call(s.wireguardBytesOut().getAsLong(), "sent");
                }).register(m.registry());
        return m;
    }
}
