package dev.lattice.wireguard.interop;

import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import dev.lattice.testlab.Link;
import dev.lattice.testlab.Support;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;

/**
 * Two hosts on one veth link, each running a WireGuard daemon, peered with each other:
 *
 * <pre>
 *  host a                                     host b
 *  wgA&lt;id&gt; 10.77.0.1/24 fd77::1/64            wgB&lt;id&gt; 10.77.0.2/24 fd77::2/64
 *  eth0 192.168.77.1/24 fd00:77::1/64  ------  eth0 192.168.77.2/24 fd00:77::2/64
 *  listen-port 51820                           listen-port 51821
 * </pre>
 *
 * A is configured with {@code wg set} (private key from a 0600 file made by {@code wg genkey}); B with
 * {@code wg setconf} from a 0600 config file, so both ways of configuring are exercised. Both have each other's
 * endpoint and no persistent keepalive, so no handshake happens until one side sends traffic. Tunnel
 * addresses are set with {@code ip addr} once the daemons have created their devices.
 */
final class WgTunnel implements AutoCloseable {
    static final String A4 = "10.77.0.1";
    static final String B4 = "10.77.0.2";
    static final String A6 = "fd77::1";
    static final String B6 = "fd77::2";
    static final String UNDERLAY_A4 = "192.168.77.1";
    static final String UNDERLAY_B4 = "192.168.77.2";
    static final String UNDERLAY_A6 = "fd00:77::1";
    static final String UNDERLAY_B6 = "fd00:77::2";
    static final int PORT_A = 51820;
    static final int PORT_B = 51821;

    enum Option {
        /** B's peer entry for A carries a random public key instead of A's. */
        WRONG_PEER_KEY_ON_B
    }

    final WgPair pair;
    final Lab lab;
    final Host hostA;
    final Host hostB;
    final Link link;
    final WgNode a;
    final WgNode b;
    /** The public key B's peer entry for A actually has (A's, unless {@link Option#WRONG_PEER_KEY_ON_B}). */
    final String peerKeyOnB;

    private WgTunnel(WgPair pair, Lab lab, Host hostA, Host hostB, Link link, WgNode a, WgNode b, String peerKeyOnB) {
        this.pair = pair;
        this.lab = lab;
        this.hostA = hostA;
        this.hostB = hostB;
        this.link = link;
        this.a = a;
        this.b = b;
        this.peerKeyOnB = peerKeyOnB;
    }

    /** Skips the calling test (JUnit assumption) unless the lab and both implementations can run here. */
    static void assumeRunnable(WgPair pair) {
        Support lab = Lab.support("wg", "ping", "iperf3", "ss", "bash");
        Assumptions.assumeTrue(lab.available(), () -> "netns lab unavailable, skipped: " + lab.reason());
        Support impls = pair.availability();
        Assumptions.assumeTrue(impls.available(), impls::reason);
    }

    static WgTunnel start(WgPair pair, Option... options) {
        assumeRunnable(pair);
        Set<Option> opts = Set.of(options);
        Lab lab = new Lab();
        try {
            Host ha = lab.host("a");
            Host hb = lab.host("b");
            Link link = lab.link(ha, hb);
            ha.addAddress(link.aDev(), UNDERLAY_A4 + "/24").addAddress(link.aDev(), UNDERLAY_A6 + "/64");
            hb.addAddress(link.bDev(), UNDERLAY_B4 + "/24").addAddress(link.bDev(), UNDERLAY_B6 + "/64");

            // device names are global in /var/run/wireguard, hence the lab id in them (max 15 chars)
            WgNode a = WgNode.start(lab, ha, pair.a(), "wgA" + lab.id());
            WgNode b = WgNode.start(lab, hb, pair.b(), "wgB" + lab.id());

            a.wg("set", a.dev, "private-key", a.privateKeyFile.toString(), "listen-port", Integer.toString(PORT_A),
                    "peer", b.publicKey, "endpoint", UNDERLAY_B4 + ":" + PORT_B,
                    "allowed-ips", B4 + "/32," + B6 + "/128");

            String peerKeyOnB = opts.contains(Option.WRONG_PEER_KEY_ON_B)
                    ? WgNode.publicKey(WgNode.genKey()) : a.publicKey;
            var conf = lab.workDir().resolve(b.dev + ".conf");
            WgNode.writePrivate(conf, """
                    [Interface]
                    PrivateKey = %s
                    ListenPort = %d

                    [Peer]
                    PublicKey = %s
                    Endpoint = %s:%d
                    AllowedIPs = %s/32, %s/128
                    """.formatted(WgNode.readKey(b.privateKeyFile), PORT_B, peerKeyOnB, UNDERLAY_A4, PORT_A, A4, A6));
            b.wg("setconf", b.dev, conf.toString());

            for (WgNode n : new WgNode[] {a, b}) {
                String v4 = n == a ? A4 : B4;
                String v6 = n == a ? A6 : B6;
                n.host.addAddress(n.dev, v4 + "/24").addAddress(n.dev, v6 + "/64").up(n.dev);
            }
            WgTunnel t = new WgTunnel(pair, lab, ha, hb, link, a, b, peerKeyOnB);
            t.checkConfigured(a, Integer.toString(PORT_A), b.publicKey);
            t.checkConfigured(b, Integer.toString(PORT_B), peerKeyOnB);
            return t;
        } catch (RuntimeException | Error e) {
            try {
                lab.close();
            } catch (RuntimeException ce) {
                e.addSuppressed(ce);
            }
            throw e;
        }
    }

    /** Fails clearly if the daemon did not take the configuration {@code wg} sent it. */
    private void checkConfigured(WgNode n, String port, String peer) {
        String gotPort = n.wg("show", n.dev, "listen-port").stdout().strip();
        String gotPeers = n.wg("show", n.dev, "peers").stdout().strip();
        String gotPub = n.wg("show", n.dev, "public-key").stdout().strip();
        if (!gotPort.equals(port) || !gotPeers.equals(peer) || !gotPub.equals(n.publicKey)) {
            throw new AssertionError(n + " did not apply its configuration: listen-port " + gotPort + " (want "
                    + port + "), peers [" + gotPeers + "] (want " + peer + "), public-key " + gotPub + " (want "
                    + n.publicKey + ")\n" + diagnostics());
        }
    }

    /** The node on the other side. */
    WgNode other(WgNode n) {
        return n == a ? b : a;
    }

    /** The tunnel address of {@code n} (IPv4 or IPv6). */
    static String tunnelAddress(WgTunnel t, WgNode n, boolean v6) {
        return n == t.a ? (v6 ? A6 : A4) : (v6 ? B6 : B4);
    }

    /** Pings {@code to}'s tunnel address from {@code from}'s host: 3 pings, 2 s wait each. */
    Host.PingResult ping(WgNode from, WgNode to, boolean v6) {
        return from.host.ping(tunnelAddress(this, to, v6), 3, Duration.ofSeconds(2));
    }

    /** Diagnostics of both sides, for failure messages. */
    String diagnostics() {
        return "pair " + pair + ", lab " + lab.id() + "\n" + a.diagnostics() + b.diagnostics();
    }

    @Override
    public void close() {
        lab.close();
    }
}
