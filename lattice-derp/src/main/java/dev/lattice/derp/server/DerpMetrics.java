package dev.lattice.derp.server;

import dev.lattice.derp.stun.StunServer;
import dev.lattice.metrics.Metrics;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import java.util.Locale;
import java.util.Map;

/**
 * A DERP relay's and a STUN server's counters as metrics ({@code lattice_derp_*}, {@code lattice_stun_*}), read at
 * each scrape from what they count anyway, so the packet path pays nothing more. The same names for the embedded
 * relay of lattice-control and for lattice-derper.
 */
public final class DerpMetrics {
    private DerpMetrics() {}

    public static void register(Metrics m, DerpServer derp) {
        m.gauge("lattice_derp_connections", "Clients connected to the DERP relay now", () -> derp.stats().currentClients());
        m.gauge("lattice_derp_home_connections", "Connected clients that use this relay as their home",
                () -> derp.stats().currentHomeClients());
        m.counter("lattice_derp_accepts", "DERP connections accepted (after the handshake)", () -> derp.stats().accepts());
        m.counter("lattice_derp_websocket_accepts", "DERP connections that came in over a WebSocket", derp::webSocketAccepts);
        CounterWithCallback.builder().name("lattice_derp_packets").help("Packets the relay received, sent, and forwarded to or from mesh peers")
                .labelNames("direction").callback(cb -> {
                    DerpServer.Stats s = derp.stats();
                    cb.call(s.packetsReceived(), "received");
                    cb.call(s.packetsSent(), "sent");
                    cb.call(s.packetsForwardedOut(), "forwarded_out");
                    cb.call(s.packetsForwardedIn(), "forwarded_in");
                }).register(m.registry());
        CounterWithCallback.builder().name("lattice_derp_bytes").help("Payload bytes the relay received and sent")
                .labelNames("direction").callback(cb -> {
                    DerpServer.Stats s = derp.stats();
                    cb.call(s.bytesReceived(), "received");
                    cb.call(s.bytesSent(), "sent");
                }).register(m.registry());
        CounterWithCallback.builder().name("lattice_derp_packets_dropped").help("Packets the relay could not deliver, by reason")
                .labelNames("reason").callback(cb -> {
                    for (Map.Entry<DerpServer.DropReason, Long> e : derp.stats().drops().entrySet()) {
                        cb.call(e.getValue(), e.getKey().name().toLowerCase(Locale.ROOT));
                    }
                }).register(m.registry());
        CounterWithCallback.builder().name("lattice_derp_connection_problems")
                .help("Connections refused by client verification, closed for protocol errors or for write timeouts")
                .labelNames("kind").callback(cb -> {
                    DerpServer.Stats s = derp.stats();
                    cb.call(s.refused(), "refused");
                    cb.call(s.protocolErrors(), "protocol_error");
                    cb.call(s.writeTimeouts(), "write_timeout");
                    cb.call(s.unknownFrames(), "unknown_frame");
                }).register(m.registry());
    }

    public static void register(Metrics m, StunServer stun) {
        CounterWithCallback.builder().name("lattice_stun_requests").help("STUN requests answered, and packets ignored (not a binding request)")
                .labelNames("result").callback(cb -> {
                    cb.call(stun.answered(), "answered");
                    cb.call(stun.ignored(), "ignored");
                }).register(m.registry());
    }
}
