package dev.lattice.control.interop;

import dev.lattice.controlclient.ControlChannel;
import dev.lattice.controlclient.ServerKey;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.RegisterResponseAuth;
import dev.lattice.wire.tailcfg.Tailcfg;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * N simulated clients register at once, each over a ts2021 connection of its own (so a load balancer spreads them),
 * with one pre-auth key: {@code RegistrationStorm URL AUTHKEY N}. Run in a lab host by the replica lab test. Prints
 * {@code registered N of M in S s} and exits 0 when every registration was authorized, 1 otherwise (printing why).
 */
public final class RegistrationStorm {
    private RegistrationStorm() {}

    public static void main(String[] args) throws Exception {
        URI url = URI.create(args[0]);
        String key = args[1];
        int n = Integer.parseInt(args[2]);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        int ok = 0;
        List<String> errors = new ArrayList<>();
        long t0 = System.nanoTime();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            MachinePublicKey controlKey = ServerKey.fetch(url, CapabilityVersion.CURRENT);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Boolean>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String host = "storm-" + i;
                fs.add(pool.submit(() -> {
                    start.await();
                    return register(group, url, controlKey, key, host);
                }));
            }
            start.countDown();
            for (Future<Boolean> f : fs) {
                try {
                    if (f.get(120, TimeUnit.SECONDS)) ok++;
                    else errors.add("not authorized");
                } catch (java.util.concurrent.ExecutionException e) {
                    errors.add(e.getCause().toString());
                }
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        System.out.printf("registered %d of %d in %.1f s%n", ok, n, (System.nanoTime() - t0) / 1e9);
        errors.stream().distinct().limit(10).forEach(e -> System.out.println("error: " + e));
        System.exit(ok == n ? 0 : 1);
    }

    private static boolean register(EventLoopGroup group, URI url, MachinePublicKey controlKey, String key, String host)
            throws Exception {
        try (ControlChannel ch = ControlChannel.connect(group, url, null, MachinePrivateKey.generate(), controlKey,
                CapabilityVersion.CURRENT).get(60, TimeUnit.SECONDS)) {
            RegisterRequest req = RegisterRequest.builder().version(CapabilityVersion.CURRENT)
                    .nodeKey(NodePrivateKey.generate().publicKey())
                    .hostinfo(Hostinfo.empty().withHostname(host).withOs("linux"))
                    .auth(new RegisterResponseAuth(null, null, null, key)).build();
            ControlChannel.Response r = ch.request(HttpMethod.POST, "/machine/register", Tailcfg.json().writeValueAsBytes(req))
                    .get(60, TimeUnit.SECONDS);
            if (r.status() != 200) throw new IllegalStateException("HTTP " + r.status() + ": " + r.bodyText());
            return Tailcfg.json().readValue(r.body(), RegisterResponse.class).machineAuthorized();
        }
    }
}
