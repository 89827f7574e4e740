package dev.lattice.wireguard.interop;

import static dev.lattice.wireguard.interop.WgTunnel.A4;
import static dev.lattice.wireguard.interop.WgTunnel.A6;
import static dev.lattice.wireguard.interop.WgTunnel.B4;
import static dev.lattice.wireguard.interop.WgTunnel.PORT_A;
import static dev.lattice.wireguard.interop.WgTunnel.PORT_B;
import static dev.lattice.wireguard.interop.WgTunnel.UNDERLAY_A4;
import static dev.lattice.wireguard.interop.WgTunnel.UNDERLAY_A6;
import static dev.lattice.wireguard.interop.WgTunnel.UNDERLAY_B4;
import static dev.lattice.wireguard.interop.WgTunnel.UNDERLAY_B6;
import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.testlab.ExecResult;
import dev.lattice.testlab.Host;
import dev.lattice.testlab.Lab;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * WireGuard interoperability between userspace implementations, each pair in its own two-namespace
 * {@link WgTunnel}. Every scenario runs for every {@link WgPair#standard() pair}; pairs whose binaries are not
 * available here are skipped with a message saying how to enable them. wireguard-go↔wireguard-go is the
 * baseline: if it fails, the harness (or the machine) is at fault, not lattice-wg.
 */
@Tag("netns")
@Timeout(120)
class WireGuardInteropTest {

    static Stream<WgPair> pairs() {
        return WgPair.standard();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pairs")
    void handshakeInitiatedByA_pingBothWaysV4V6(WgPair pair) {
        handshakeThenPingEverything(pair, true);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pairs")
    void handshakeInitiatedByB_pingBothWaysV4V6(WgPair pair) {
        handshakeThenPingEverything(pair, false);
    }

    private static void handshakeThenPingEverything(WgPair pair, boolean fromA) {
        try (WgTunnel t = WgTunnel.start(pair)) {
            WgNode first = fromA ? t.a : t.b;
            WgNode second = t.other(first);
            assertThat(t.a.latestHandshake(t.b.publicKey)).as(() -> "no handshake before any traffic (A)\n"
                    + t.diagnostics()).isZero();
            assertThat(t.b.latestHandshake(t.a.publicKey)).as(() -> "no handshake before any traffic (B)\n"
                    + t.diagnostics()).isZero();

            long before = Instant.now().getEpochSecond() - 1;
            Host.PingResult p = t.ping(first, second, false);
            assertThat(p.anyReceived()).as(() -> first + " -> " + second + " IPv4 ping (first packet, "
                    + first + " initiates the handshake)\n" + p.exec() + "\n" + t.diagnostics()).isTrue();
            long hsA = t.a.latestHandshake(t.b.publicKey);
            long hsB = t.b.latestHandshake(t.a.publicKey);
            assertThat(hsA).as(() -> "A's latest handshake after " + first + " pinged\n" + t.diagnostics())
                    .isGreaterThanOrEqualTo(before);
            assertThat(hsB).as(() -> "B's latest handshake after " + first + " pinged\n" + t.diagnostics())
                    .isGreaterThanOrEqualTo(before);

            for (WgNode from : List.of(first, second)) {
                for (boolean v6 : new boolean[] {false, true}) {
                    WgNode to = t.other(from);
                    Host.PingResult r = t.ping(from, to, v6);
                    assertThat(r.anyReceived()).as(() -> from + " -> " + to + (v6 ? " IPv6" : " IPv4") + " ping\n"
                            + r.exec() + "\n" + t.diagnostics()).isTrue();
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pairs")
    void tcpTransferBothDirections(WgPair pair) {
        try (WgTunnel t = WgTunnel.start(pair)) {
            // A -> B over IPv4, then B -> A over IPv6; the client sends, the server receives
            Iperf.Result ab = Iperf.run(t.hostB, B4, t.hostA, Duration.ofSeconds(45), "-n", "20M");
            assertThat(ab.clientOk() && ab.bytesReceived() > 0)
                    .as(() -> "TCP A -> B (IPv4)\n" + ab.describe() + "\n" + t.diagnostics()).isTrue();
            Iperf.Result ba = Iperf.run(t.hostA, A6, t.hostB, Duration.ofSeconds(45), "-n", "20M");
            assertThat(ba.clientOk() && ba.bytesReceived() > 0)
                    .as(() -> "TCP B -> A (IPv6)\n" + ba.describe() + "\n" + t.diagnostics()).isTrue();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pairs")
    void wrongPeerKeyGetsNoTrafficThrough(WgPair pair) {
        try (WgTunnel t = WgTunnel.start(pair, WgTunnel.Option.WRONG_PEER_KEY_ON_B)) {
            Host.PingResult ab = t.hostA.ping(B4, 3, Duration.ofSeconds(1));
            Host.PingResult ba = t.hostB.ping(A4, 3, Duration.ofSeconds(1));
            assertThat(ab.anyReceived()).as(() -> "A -> B must fail: B does not know A's key\n" + ab.exec() + "\n"
                    + t.diagnostics()).isFalse();
            assertThat(ba.anyReceived()).as(() -> "B -> A must fail: B's initiation is for the wrong key\n"
                    + ba.exec() + "\n" + t.diagnostics()).isFalse();

            assertThat(t.a.latestHandshake(t.b.publicKey)).as(() -> "A recorded no handshake\n" + t.diagnostics())
                    .isZero();
            assertThat(t.b.latestHandshake(t.peerKeyOnB)).as(() -> "B recorded no handshake\n" + t.diagnostics())
                    .isZero();
            assertThat(t.a.transfer().get(t.b.publicKey)[0]).as(() -> "A received no bytes from B\n"
                    + t.diagnostics()).isZero();
            assertThat(t.b.transfer().get(t.peerKeyOnB)[0]).as(() -> "B received no bytes from its (wrong) peer\n"
                    + t.diagnostics()).isZero();
            assertThat(t.a.responsive()).as(() -> "A's daemon still alive and answering wg\n" + t.diagnostics())
                    .isTrue();
            assertThat(t.b.responsive()).as(() -> "B's daemon still alive and answering wg\n" + t.diagnostics())
                    .isTrue();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pairs")
    void roamingUnderlayAddressChangeKeepsTunnel(WgPair pair) {
        String newA = "192.168.77.11";
        try (WgTunnel t = WgTunnel.start(pair)) {
            Host.PingResult first = t.ping(t.a, t.b, false);
            assertThat(first.anyReceived()).as(() -> "tunnel up before roaming\n" + first.exec() + "\n"
                    + t.diagnostics()).isTrue();
            assertThat(t.b.endpoints().get(t.a.publicKey)).as(() -> "B's endpoint for A before roaming\n"
                    + t.diagnostics()).isEqualTo(UNDERLAY_A4 + ":" + PORT_A);

            // A's address changes as after a DHCP renumbering: the new one is added, the old one removed
            // (promote_secondaries keeps the new address, in the same /24, when the old primary goes).
            String dev = t.link.aDev();
            t.hostA.sysctl("net.ipv4.conf." + dev + ".promote_secondaries", "1");
            t.hostA.addAddress(dev, newA + "/24");
            t.hostA.removeAddress(dev, UNDERLAY_A4 + "/24");

            // wireguard-go keeps sending from the vanished (sticky) source address until its handshake retry
            // clears it, 15 s (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT) after the first unanswered packet.
            long t0 = System.nanoTime();
            Host.PingResult after = pingUntilReply(t, t.a, t.b, Duration.ofSeconds(30));
            double recovered = (System.nanoTime() - t0) / 1e9;
            assertThat(after.anyReceived()).as(() -> "A -> B within 30 s after A's address changed to " + newA
                    + "\n" + after.exec() + "\n" + t.diagnostics()).isTrue();
            System.out.printf("roaming %s: A -> B answered %.1f s after the address change%n", pair, recovered);
            String want = newA + ":" + PORT_A;
            String got = waitForEndpoint(t.b, t.a.publicKey, want, Duration.ofSeconds(5));
            assertThat(got).as(() -> "B's endpoint for A after roaming\n" + t.diagnostics()).isEqualTo(want);
            for (boolean v6 : new boolean[] {false, true}) {
                Host.PingResult back = t.ping(t.b, t.a, v6);
                assertThat(back.anyReceived()).as(() -> "B -> A " + (v6 ? "IPv6" : "IPv4") + " after roaming\n"
                        + back.exec() + "\n" + t.diagnostics()).isTrue();
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pairs")
    void malformedDatagramsAreHarmless(WgPair pair) {
        long seed = ThreadLocalRandom.current().nextLong();
        List<byte[]> junk = Garbage.datagrams(seed);
        try (WgTunnel t = WgTunnel.start(pair)) {
            String what = junk.size() + " malformed datagrams (seed " + seed + ")";
            // before any handshake: no session exists yet
            spray(t, junk, "round1", false);
            Host.PingResult p = t.ping(t.a, t.b, false);
            assertThat(p.anyReceived()).as(() -> "handshake + ping A -> B after " + what + " to both daemons\n"
                    + p.exec() + "\n" + t.diagnostics()).isTrue();
            Map<String, String> epA = t.a.endpoints();
            Map<String, String> epB = t.b.endpoints();

            // with an established session, over IPv4 and IPv6 underlay
            spray(t, junk, "round2", true);
            Lab.sleep(Duration.ofMillis(500));
            assertThat(t.a.responsive()).as(() -> "A's daemon alive after " + what + "\n" + t.diagnostics())
                    .isTrue();
            assertThat(t.b.responsive()).as(() -> "B's daemon alive after " + what + "\n" + t.diagnostics())
                    .isTrue();
            assertThat(t.a.endpoints()).as(() -> "unauthenticated datagrams must not move A's endpoint for B\n"
                    + t.diagnostics()).isEqualTo(epA);
            assertThat(t.b.endpoints()).as(() -> "unauthenticated datagrams must not move B's endpoint for A\n"
                    + t.diagnostics()).isEqualTo(epB);
            for (WgNode from : List.of(t.a, t.b)) {
                for (boolean v6 : new boolean[] {false, true}) {
                    WgNode to = t.other(from);
                    Host.PingResult r = t.ping(from, to, v6);
                    assertThat(r.anyReceived()).as(() -> from + " -> " + to + (v6 ? " IPv6" : " IPv4")
                            + " ping after " + what + "\n" + r.exec() + "\n" + t.diagnostics()).isTrue();
                }
            }
        }
    }

    private static void spray(WgTunnel t, List<byte[]> junk, String round, boolean alsoV6) {
        var dir = t.lab.workDir().resolve("garbage-" + round);
        ExecResult r1 = Garbage.send(t.hostA, dir, junk, UNDERLAY_B4, PORT_B);
        ExecResult r2 = Garbage.send(t.hostB, dir, junk, UNDERLAY_A4, PORT_A);
        assertThat(r1.ok() && r2.ok()).as(() -> "sending garbage\n" + r1 + "\n" + r2).isTrue();
        if (alsoV6) {
            ExecResult r3 = Garbage.send(t.hostA, dir, junk, UNDERLAY_B6, PORT_B);
            ExecResult r4 = Garbage.send(t.hostB, dir, junk, UNDERLAY_A6, PORT_A);
            assertThat(r3.ok() && r4.ok()).as(() -> "sending garbage over IPv6\n" + r3 + "\n" + r4).isTrue();
        }
    }

    private static Host.PingResult pingUntilReply(WgTunnel t, WgNode from, WgNode to, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Host.PingResult r;
        do {
            r = t.ping(from, to, false);
        } while (!r.anyReceived() && System.nanoTime() < deadline);
        return r;
    }

    private static String waitForEndpoint(WgNode n, String peer, String want, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String got;
        while (!(got = n.endpoints().get(peer)).equals(want) && System.nanoTime() < deadline) {
            Lab.sleep(Duration.ofMillis(100));
        }
        return got;
    }
}
