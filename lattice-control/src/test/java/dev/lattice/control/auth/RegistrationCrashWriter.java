package dev.lattice.control.auth;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.ipalloc.IpAllocator;
import dev.lattice.control.netmap.TailcfgNodes;
import dev.lattice.control.server.TestServer;
import dev.lattice.control.state.Tailnet;
import dev.lattice.control.store.NewKey;
import dev.lattice.control.store.PreAuthKey;
import dev.lattice.control.store.Store;
import dev.lattice.control.store.User;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wire.tailcfg.CapabilityVersion;
import dev.lattice.wire.tailcfg.Hostinfo;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import dev.lattice.wire.tailcfg.RegisterResponseAuth;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

/**
 * Child process for {@link RegistrationCrashTest}: the server's registration path (store, tailnet, registrations,
 * as the server wires them) under {@value #WORKERS} concurrent registrations, each with a fresh single-use key.
 * Prints {@code REGISTERED <keyId> <nodeId>} after each registration the client would have been told succeeded,
 * until killed.
 */
public final class RegistrationCrashWriter {
    static final int WORKERS = 50;

    private RegistrationCrashWriter() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        ControlConfig cfg = ControlConfig.parse(TestServer.yaml(dir, TestServer.freePort(), false), dir);
        Store store = Store.open(cfg.database());
        IpAllocator ips = IpAllocator.fromStore(cfg.prefixes(), store.nodes());
        Tailnet tailnet = new Tailnet(store, ips, Clock.systemUTC());
        Registrations registrations = new Registrations(tailnet, ips, new TailcfgNodes(tailnet, "crash.test"), cfg);
        User user = store.users().list().stream().filter(u -> u.name().equals("crash")).findFirst()
                .orElseGet(() -> store.users().create("crash", "", ""));
        String round = args[1];
        for (int w = 0; w < WORKERS; w++) {
            int worker = w;
            Thread.ofPlatform().start(() -> {
                for (int i = 0; ; i++) {
                    NewKey<PreAuthKey> key = store.preAuthKeys().create(user.id(), false, false, List.of(), null);
                    RegisterRequest req = RegisterRequest.builder().version(CapabilityVersion.CURRENT)
                            .nodeKey(NodePrivateKey.generate().publicKey())
                            .hostinfo(Hostinfo.empty().withHostname("r" + round + "-w" + worker + "-" + i).withOs("linux"))
                            .auth(new RegisterResponseAuth(null, null, null, key.fullKey()))
                            .build();
                    RegisterResponse r = registrations.register(MachinePrivateKey.generate().publicKey(), req)
                            .toCompletableFuture().join();
                    if (!Boolean.TRUE.equals(r.machineAuthorized())) throw new IllegalStateException("refused: " + r.error());
                    long nodeId = tailnet.byNodeKey(req.nodeKey()).orElseThrow().id();
                    synchronized (System.out) {
                        System.out.println("REGISTERED " + key.key().id() + " " + nodeId);
                        System.out.flush();
                    }
                }
            });
        }
    }
}
