package dev.lattice.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.Host;
import dev.lattice.testlab.Link;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Exit nodes: an HTTP request to the "internet" host ({@link RouterLab#WEB}) arrives from the address of whoever
 * carried it. latticed as exit node for latticed and for an official client; an official exit node for latticed;
 * LAN access kept direct or not; and kill -9 of latticed while an exit node is in use leaves the host with a
 * working default route, before and after the restart. The exit node {@code x} is at 203.0.113.10, the client
 * {@code c} at 203.0.113.11 with a home LAN 192.168.50.0/24 where a printer (.20) answers too.
 */
@Tag("netns")
@Timeout(400)
class AgentExitNodeTest {
    static final String X = RouterLab.WAN + "10", C = RouterLab.WAN + "11", O = RouterLab.WAN + "12";
    static final String PRINTER = "192.168.50.20", C_LAN = "192.168.50.2";

    /** The client host with its home LAN and printer. */
    static Host client(RouterLab l) {
        Host c = l.wanHost("c", 11);
        Host printer = l.lab.host("printer");
        Link home = l.lab.link(c, "home", printer, "eth0");
        c.addAddress(home.aDev(), C_LAN + "/24");
        printer.addAddress(home.bDev(), PRINTER + "/24");
        l.servers.add(RouterLab.whoamiServer(printer, PRINTER));
        return c;
    }

    static Host exitHost(RouterLab l, String name, int octet) {
        Host h = l.wanHost(name, octet);
        h.enableForwarding();
        return h;
    }

    @Test
    void latticedExitNodeForLatticedWithLanAccessAndAKill9() throws Exception {
        TailnetNode.Binaries ours = TailnetNode.lattice();
        try (RouterLab l = new RouterLab().control(null)) {
            String key = l.key();
            TailnetNode x = l.join(ours, exitHost(l, "x", 10), key, "x", "--advertise-exit-node");
            TailnetNode c = l.join(ours, client(l), key, "c");
            l.approve("x", "0.0.0.0/0,::/0");
            assertThat(RouterLab.whoami(c.host, RouterLab.WEB)).as("no exit node: direct").isEqualTo(C);
            assertThat(RouterLab.whoami(c.host, PRINTER)).isEqualTo(C_LAN);
            c.await("x offers an exit node to c", Duration.ofSeconds(30),
                    n -> n.cli(Duration.ofSeconds(10), "exit-node", "list").stdout().contains("x.tailnet.test"));

            assertThat(c.cli(Duration.ofSeconds(30), "set", "--exit-node=x").ok()).isTrue();
            assertThat(RouterLab.awaitWhoami(c.host, RouterLab.WEB, X, Duration.ofSeconds(20)))
                    .as(() -> "c -> internet via x\n" + RouterLab.debug(c) + "\n" + RouterLab.debug(x)).isEqualTo(X);
            assertThat(c.cli(Duration.ofSeconds(10), "status").stdout()).contains("exit node");
            // Without LAN access the LAN goes through the exit node too, which keeps private ranges to itself.
            assertThat(RouterLab.whoami(c.host, PRINTER)).as("printer without LAN access").isNull();
            assertThat(c.cli(Duration.ofSeconds(30), "set", "--exit-node-allow-lan-access").ok()).isTrue();
            assertThat(RouterLab.awaitWhoami(c.host, PRINTER, C_LAN, Duration.ofSeconds(10))).as("printer, LAN access").isEqualTo(C_LAN);
            assertThat(RouterLab.whoami(c.host, RouterLab.WEB)).as("the internet still via x").isEqualTo(X);
            System.out.println("[e2e] exit node: c reaches the internet as " + X + ", its printer directly with LAN access");

            // kill -9: the host's own default route works at once, and the exit node again after the restart.
            c.daemon.kill();
            assertThat(RouterLab.awaitWhoami(c.host, RouterLab.WEB, C, Duration.ofSeconds(10)))
                    .as(() -> "direct after kill -9\n" + c.host.ip("rule").stdout() + c.host.ip("route", "show", "table", "52").stdout())
                    .isEqualTo(C);
            c.startDaemon();
            assertThat(RouterLab.awaitWhoami(c.host, RouterLab.WEB, X, Duration.ofSeconds(40)))
                    .as(() -> "via x after the restart\n" + RouterLab.debug(c) + "\n" + RouterLab.debug(x)
                            + "\nconntrack c:\n" + c.host.exec("cat", "/proc/net/nf_conntrack").stdout()).isEqualTo(X);
            assertThat(c.host.ip("-4", "rule").stdout().lines().filter(s -> s.startsWith("5270:"))).as("one set of rules").hasSize(1);
            System.out.println("[e2e] exit node: kill -9 of c's latticed left a working default route; after restart via x again");

            // Down: direct again, nothing of ours left in the way.
            assertThat(c.cli(Duration.ofSeconds(30), "down").ok()).isTrue();
            assertThat(RouterLab.awaitWhoami(c.host, RouterLab.WEB, C, Duration.ofSeconds(10))).isEqualTo(C);
        }
    }

    @Test
    void officialClientThroughLatticedAndLatticedThroughOfficial() throws Exception {
        TailnetNode.Binaries official = TailnetNode.official(), ours = TailnetNode.lattice();
        try (RouterLab l = new RouterLab().control(null)) {
            String key = l.key();
            TailnetNode x = l.join(ours, exitHost(l, "x", 10), key, "x", "--advertise-exit-node");
            TailnetNode o = l.join(official, exitHost(l, "o", 12), key, "o", "--advertise-exit-node");
            TailnetNode c = l.join(ours, client(l), key, "c");
            TailnetNode oc = l.join(official, l.wanHost("oc", 13), key, "oc");
            l.approve("x", "0.0.0.0/0,::/0");
            l.approve("o", "0.0.0.0/0,::/0");

            // An official client through latticed.
            oc.await("x offers an exit node to oc", Duration.ofSeconds(30), n -> AgentPolicyTest.peer(n, "x")
                    .map(p -> p.path("ExitNodeOption").asBoolean()).orElse(false));
            assertThat(oc.cli(Duration.ofSeconds(30), "set", "--exit-node=" + x.ipv4()).ok()).isTrue();
            assertThat(RouterLab.awaitWhoami(oc.host, RouterLab.WEB, X, Duration.ofSeconds(20)))
                    .as(() -> "official oc -> internet via latticed x\n" + RouterLab.debug(x)).isEqualTo(X);

            // latticed through an official exit node.
            c.await("o offers an exit node to c", Duration.ofSeconds(30),
                    n -> n.cli(Duration.ofSeconds(10), "exit-node", "list").stdout().contains("o.tailnet.test"));
            assertThat(c.cli(Duration.ofSeconds(30), "set", "--exit-node=o").ok()).isTrue();
            assertThat(RouterLab.awaitWhoami(c.host, RouterLab.WEB, O, Duration.ofSeconds(20)))
                    .as(() -> "latticed c -> internet via official o\n" + RouterLab.debug(c) + "\no log:\n" + o.daemon.tail(30)).isEqualTo(O);
            assertThat(c.cli(Duration.ofSeconds(30), "set", "--exit-node-allow-lan-access").ok()).isTrue();
            assertThat(RouterLab.awaitWhoami(c.host, PRINTER, C_LAN, Duration.ofSeconds(10))).isEqualTo(C_LAN);
            System.out.println("[e2e] exit node: official client via latticed (" + X + "), latticed via official (" + O + ")");
        }
    }
}
