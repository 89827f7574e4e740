package dev.lattice.bench.control;

import dev.lattice.controlclient.ControlChannel;
import dev.lattice.controlclient.MapStream;
import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.MapRequest;
import dev.lattice.wire.tailcfg.MapResponse;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.RegisterResponseAuth;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/** A simulated node speaking the real protocol: ts2021 channel, register with a key, zstd map stream. */
final class SimNode implements AutoCloseable {
    final String name;
    final MachinePrivateKey machineKey = MachinePrivateKey.generate();
    final NodePrivateKey nodeKey = NodePrivateKey.generate();
    final DiscoPrivateKey discoKey = DiscoPrivateKey.generate();
    final CompletableFuture<Void> gotFullMap = new CompletableFuture<>();
    volatile BiConsumer<SimNode, MapResponse> listener = (n, m) -> {};
    ControlChannel channel;
    MapStream stream;

    SimNode(String name) {
        this.name = name;
    }

    void connect(EventLoopGroup group, URI server, MachinePublicKey controlKey) throws Exception {
        channel = ControlChannel.connect(group, server, null, machineKey, controlKey, CapabilityVersion.CURRENT)
                .get(30, TimeUnit.SECONDS);
    }

    Hostinfo hostinfo() {
        return Hostinfo.empty().withHostname(name).withOs("linux");
    }

    void register(String authKey) throws Exception {
        RegisterRequest req = RegisterRequest.builder().version(CapabilityVersion.CURRENT).nodeKey(nodeKey.publicKey())
                .hostinfo(hostinfo()).auth(new RegisterResponseAuth(null, null, null, authKey)).build();
        var r = channel.request(HttpMethod.POST, "/machine/register", Tailcfg.json().writeValueAsBytes(req)).get(60, TimeUnit.SECONDS);
        RegisterResponse rr = Tailcfg.json().readValue(r.body(), RegisterResponse.class);
        if (r.status() != 200 || !Boolean.TRUE.equals(rr.machineAuthorized())) {
            throw new IllegalStateException(name + ": register failed: " + r.status() + " " + r.bodyText());
        }
    }

    MapRequest.Builder mapRequest() {
        return MapRequest.builder().version(CapabilityVersion.CURRENT).nodeKey(nodeKey.publicKey())
                .discoKey(discoKey.publicKey()).hostinfo(hostinfo()).compress("zstd");
    }

    void openStream() throws Exception {
        stream = channel.stream("/machine/map", Tailcfg.json().writeValueAsBytes(mapRequest().stream(true).build()), true,
                json -> {
                    MapResponse m = Tailcfg.json().readValue(json, MapResponse.class);
                    if (m.node() != null) gotFullMap.complete(null);
                    listener.accept(this, m);
                }).get(30, TimeUnit.SECONDS);
    }

    int lite(MapRequest req) throws Exception {
        return channel.request(HttpMethod.POST, "/machine/map", Tailcfg.json().writeValueAsBytes(req)).get(30, TimeUnit.SECONDS).status();
    }

    @Override
    public void close() {
        if (channel != null) channel.close();
    }
}
