package dev.lattice.control.cli;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.server.ControlServer;
import dev.lattice.systemd.StopDeadline;
import dev.lattice.systemd.SystemdNotify;
import dev.lattice.wire.ip.IpPrefix;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;

/**
 * {@code serve}: runs the control server (HTTP, ts2021, embedded DERP/STUN, admin socket) until SIGTERM/SIGINT
 * (or, inside a test, until the running thread is interrupted). Under systemd ({@code Type=notify}) it reports
 * ready once every listener is up.
 */
@Command(name = "serve", description = "Launches the lattice-control server")
final class ServeCommand extends ControlCli.Sub implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        return serve(root());
    }

    /** Runs the server with {@code root}'s config until it is stopped; also called without picocli (ControlCli.run). */
    static int serve(ControlCli root) throws Exception {
        ControlConfig cfg = root.config();
        ControlServer server;
        try {
            server = ControlServer.start(cfg);
        } catch (Exception e) {
            throw new CliException("cannot start lattice-control: " + e.getMessage(), e);
        }
        SystemdNotify systemd = SystemdNotify.fromEnvironment();
        CountDownLatch stopped = new CountDownLatch(1);
        // An overloaded server once kept running for minutes after SIGTERM: the stop is bounded.
        Thread hook = new Thread(() -> StopDeadline.run(() -> {
            systemd.stopping();
            server.close();
            stopped.countDown();
        }, org.slf4j.LoggerFactory.getLogger(ServeCommand.class)::warn), "lattice-control-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        // With JSON logs every line a collector sees must be JSON: the hint (several lines of text) is left out.
        if (cfg.log().format() == ControlConfig.LogFormat.TEXT) printJoinHelp(root, cfg, server);
        // Listeners, store and admin socket are up when start() returns: a Type=notify unit is ready now.
        systemd.ready("serving " + cfg.serverUrl() + " on " + IpPrefix.hostPort(server.httpAddress()));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Runtime.getRuntime().removeShutdownHook(hook);
            server.close();
        }
        return 0;
    }

    private static void printJoinHelp(ControlCli root, ControlConfig cfg, ControlServer server) {
        printJoinHelp(root, cfg, server, Launchers.fromEnvironment());
    }

    static void printJoinHelp(ControlCli root, ControlConfig cfg, ControlServer server, Launchers launchers) {
        String cli = launchers.command("lattice-control") + root.configArg();
        root.out.printf("""
                lattice-control is running: %s (listening on %s), admin socket %s
                To join a device:
                  %s users create NAME
                  %s preauthkeys create --user NAME
                  tailscale up --login-server %s --authkey <key>
                  (or with Lattice's agent: sudo %s & sudo %s up --login-server %s --authkey <key>)
                %s
                """, cfg.serverUrl(), IpPrefix.hostPort(server.httpAddress()), server.adminSocket().path(), cli, cli,
                cfg.serverUrl(), launchers.command("latticed"), launchers.command("lattice"), cfg.serverUrl(),
                cfg.oidc().enabled()
                        ? "or run 'tailscale up --login-server " + cfg.serverUrl() + "' and log in at " + cfg.oidc().issuer()
                                + " (OpenID Connect; the provider's redirect URI is " + dev.lattice.control.oidc.OidcProvider.callbackUrl(cfg.serverUrl()) + ")."
                        : "or run 'tailscale up --login-server " + cfg.serverUrl() + "' and approve it with '" + cli
                                + " auth register --auth-id ID --user NAME'.");
        root.out.flush();
    }
}
