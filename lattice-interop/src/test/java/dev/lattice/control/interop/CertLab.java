package dev.lattice.control.interop;

import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Switch;
import java.io.IOException;

/**
 * The lab of the certificate tests: on one switch in 10.N.0.0/24, {@code ctl} (.1) runs lattice-control with
 * certificates on and its authoritative DNS on port 53, {@code h1} (.11) runs Pebble on its loopback (its TLS
 * certificate names 127.0.0.1), validating through that DNS, and {@code h2} (.12) is a second node. Closing it stops
 * Pebble and the server and removes the namespaces.
 */
public final class CertLab implements AutoCloseable {
    public final Lab lab;
    public final Host ctl, h1, h2;
    public final ControlServerProcess server;
    public final Pebble pebble;

    private CertLab(Lab lab, Host ctl, Host h1, Host h2, ControlServerProcess server, Pebble pebble) {
        this.lab = lab;
        this.ctl = ctl;
        this.h1 = h1;
        this.h2 = h2;
        this.server = server;
        this.pebble = pebble;
    }

    /** @param finalizeShim nginx in front of Pebble, for tailscale's ACME client (see {@link Pebble}) */
    public static CertLab start(Pebble.Install install, int subnet, boolean finalizeShim) throws IOException {
        String net = "10." + subnet + ".0.";
        Lab lab = new Lab();
        ControlServerProcess server = null;
        try {
            Switch lan = lab.newSwitch("lan");
            Host ctl = host(lab, lan, "ctl", net + "1");
            Host h1 = host(lab, lan, "h1", net + "11");
            Host h2 = host(lab, lan, "h2", net + "12");
            String dns = """
                      certificates: true
                      authoritative:
                        listen_addr: %s:53
                        ns: [ns1.example.net]
                    """.formatted(net + "1");
            server = ControlServerProcess.start(ctl, net + "1", lab.workDir().resolve("ctl"), "", dns);
            Pebble pebble = Pebble.start(install, h1, lab.workDir().resolve("pebble"), net + "1:53", finalizeShim);
            return new CertLab(lab, ctl, h1, h2, server, pebble);
        } catch (IOException | RuntimeException | Error e) {
            if (server != null) server.close();
            lab.close();
            throw e;
        }
    }

    private static Host host(Lab lab, Switch lan, String name, String ip) {
        Host h = lab.host(name);
        lan.connect(h);
        h.addAddress("eth0", ip + "/24");
        return h;
    }

    @Override
    public void close() {
        try {
            pebble.close();
        } finally {
            try {
                server.close();
            } finally {
                lab.close();
            }
        }
    }
}
