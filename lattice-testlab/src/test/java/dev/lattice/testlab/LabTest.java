package dev.lattice.testlab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Tag("netns")
@Timeout(120)
class LabTest {
    private static final Duration SECOND = Duration.ofSeconds(1);

    @BeforeAll
    static void needsLab() {
        Support s = Lab.support("ping", "nft", "bash");
        Assumptions.assumeTrue(s.available(), () -> "netns lab unavailable, skipped: " + s.reason());
    }

    @Test
    void twoHostsOnALinkPingAndAreGoneAfterClose() {
        List<String> names;
        BackgroundProcess sleeper;
        Path workDir;
        try (Lab lab = new Lab()) {
            Host a = lab.host("a");
            Host b = lab.host("b");
            Link link = lab.link(a, b);
            assertThat(link.aDev()).isEqualTo("eth0");
            assertThat(a.links()).contains("lo", "eth0");
            a.addAddress(link.aDev(), "192.168.201.1/24").addAddress(link.aDev(), "fd20:1::1/64");
            b.addAddress(link.bDev(), "192.168.201.2/24").addAddress(link.bDev(), "fd20:1::2/64");

            assertThat(a.ping("192.168.201.2", 2, SECOND).allReceived()).isTrue();
            assertThat(b.ping("fd20:1::1", 2, SECOND).allReceived()).isTrue();
            // the namespaces are isolated from this one
            assertThat(Exec.run("ip", "-o", "addr").stdout()).doesNotContain("192.168.201.");

            sleeper = a.spawn("sleeper", "bash", "-c", "echo started; exec sleep 600");
            assertThat(sleeper.waitForOutput("started", Duration.ofSeconds(5))).isTrue();
            assertThat(a.pids()).contains(sleeper.pid());

            names = lab.hosts().stream().map(Host::netns).toList();
            assertThat(names).allMatch(n -> n.startsWith("lt-" + lab.id() + "-"));
            assertThat(Lab.namespaces()).containsAll(names);
            workDir = lab.workDir();
        }
        assertThat(Lab.namespaces()).doesNotContainAnyElementsOf(names);
        assertThat(sleeper.isAlive()).isFalse();
        assertThat(Files.exists(workDir)).isFalse();
    }

    @Test
    void execCapturesOutputAndTimesOut() {
        try (Lab lab = new Lab()) {
            Host h = lab.host("h");
            ExecResult r = h.exec("bash", "-c", "echo out; echo err >&2; exit 3");
            assertThat(r.exitCode()).isEqualTo(3);
            assertThat(r.stdout()).isEqualTo("out\n");
            assertThat(r.stderr()).isEqualTo("err\n");
            assertThat(r.ok()).isFalse();
            assertThatThrownBy(r::orThrow).isInstanceOf(LabException.class).hasMessageContaining("exit 3");

            ExecResult slow = h.exec(Duration.ofMillis(300), "sleep", "30");
            assertThat(slow.timedOut()).isTrue();
            assertThat(slow.elapsed()).isLessThan(Duration.ofSeconds(10));

            assertThat(h.exec(Duration.ofSeconds(5), "cat\n", java.util.Map.of(), List.of("cat")).stdout())
                    .isEqualTo("cat\n");
        }
    }

    @Test
    void switchRouterAndFirewall() {
        try (Lab lab = new Lab()) {
            Switch sw = lab.newSwitch("sw");
            Host a = lab.host("a");
            Host b = lab.host("b");
            Host r = lab.router("r");
            Link la = sw.connect(a);
            Link lr = sw.connect(r);
            Link rb = lab.link(r, b);
            a.addAddress(la.aDev(), "10.201.1.2/24").defaultRoute("10.201.1.1");
            r.addAddress(lr.aDev(), "10.201.1.1/24").addAddress(rb.aDev(), "10.201.2.1/24");
            b.addAddress(rb.bDev(), "10.201.2.2/24").defaultRoute("10.201.2.1");

            assertThat(a.ping("10.201.2.2", 2, SECOND).allReceived()).as("routed through r").isTrue();

            r.nft("""
                    table inet lt_test {
                      chain forward { type filter hook forward priority 0; icmp type echo-request drop; }
                    }""");
            assertThat(r.nftRuleset()).contains("lt_test");
            assertThat(a.ping("10.201.2.2", 2, Duration.ofMillis(300)).anyReceived()).as("dropped by nft").isFalse();
            r.nftFlush();
            assertThat(a.ping("10.201.2.2", 1, SECOND).allReceived()).isTrue();
        }
    }

    @Test
    void closeCleansUpEvenAfterThingsWentWrong() {
        Lab lab = new Lab();
        Host a = lab.host("a");
        String ns = a.netns();
        // a process the lab did not start itself, inside the namespace, keeps it alive unless killed
        Exec.runChecked("bash", "-c", "ip netns exec " + ns + " setsid sleep 600 >/dev/null 2>&1 < /dev/null &");
        Lab.sleep(Duration.ofMillis(200));
        assertThat(a.pids()).isNotEmpty();
        assertThatThrownBy(() -> a.ip("link", "set", "nonexistent0", "up")).isInstanceOf(LabException.class);
        lab.close();
        lab.close(); // idempotent
        assertThat(Lab.namespaces()).doesNotContain(ns);
        assertThatThrownBy(() -> lab.host("x")).isInstanceOf(IllegalStateException.class);
    }
}
