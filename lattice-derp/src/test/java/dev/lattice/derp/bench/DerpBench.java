package dev.lattice.derp.bench;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.derp.client.DerpClient;
import dev.lattice.derp.client.DerpClientListener;
import dev.lattice.derp.client.DerpClientOptions;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Load generator for bench/derp-bench.sh (not a test). The same Java clients drive both servers, so the ratio
 * compares the servers.
 * <pre>
 * throughput URL SECONDS SIZE   one sender, one receiver; prints "pps=… mbps=… sent=… received=…"
 * idle URL COUNT                COUNT connected clients; prints "ready", holds them until stdin closes
 * </pre>
 */
public final class DerpBench {
    public static void main(String[] args) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            switch (args[0]) {
                case "throughput" -> throughput(group, URI.create(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
                case "idle" -> idle(group, URI.create(args[1]), Integer.parseInt(args[2]));
                default -> throw new IllegalArgumentException(args[0]);
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private static void throughput(EventLoopGroup group, URI url, int seconds, int size) throws Exception {
        var opts = DerpClientOptions.defaults().withReconnect(false);
        LongAdder got = new LongAdder();
        DerpClient b = new DerpClient(url, NodePrivateKey.generate(), opts, group, new DerpClientListener() {
            @Override
            public void onPacket(NodePublicKey src, byte[] packet) {
                got.increment();
            }
        });
        // The sender gets its own event loop so that receiving does not slow sending.
        EventLoopGroup sendGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        DerpClient a = new DerpClient(url, NodePrivateKey.generate(), opts, sendGroup, null);
        CompletableFuture.allOf(a.connect(), b.connect()).get(10, TimeUnit.SECONDS);
        byte[] pkt = new byte[size];
        long sent = 0;
        long warm = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < warm) if (a.send(b.publicKey(), pkt)) sent++; else LockSupport.parkNanos(20_000);
        long got0 = got.sum();
        long t0 = System.nanoTime(), end = t0 + seconds * 1_000_000_000L;
        long sent0 = sent;
        while (System.nanoTime() < end) {
            if (a.send(b.publicKey(), pkt)) sent++;
            else LockSupport.parkNanos(20_000);
        }
        double dt = (System.nanoTime() - t0) / 1e9;
        long n = got.sum() - got0;
        System.out.printf("pps=%.0f mbps=%.1f sent=%d received=%d%n", n / dt, n * size * 8 / dt / 1e6, sent - sent0, n);
        a.close();
        b.close();
        sendGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private static void idle(EventLoopGroup group, URI url, int count) throws Exception {
        var opts = DerpClientOptions.defaults().withReconnect(false);
        List<DerpClient> cs = new ArrayList<>();
        for (int i = 0; i < count; i += 100) {
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (int j = i; j < Math.min(count, i + 100); j++) {
                DerpClient c = new DerpClient(url, NodePrivateKey.generate(), opts, group, null);
                cs.add(c);
                fs.add(c.connect());
            }
            CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        }
        System.out.println("ready " + cs.size());
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in)).readLine();
        cs.forEach(DerpClient::close);
    }
}
