package dev.lattice.agent.magicsock;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.DiscoPrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.wireguard.conn.Endpoint;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Path choice and trust expiry for one peer, on a fake clock (nanoseconds passed in). */
class PeerEndpointTest {
    static final long MS = 1_000_000L;
    final PeerEndpoint pe = new PeerEndpoint(NodePrivateKey.generate().publicKey());
    final Endpoint pub = Endpoint.of(new InetSocketAddress("198.51.100.7", 41641));
    final Endpoint lan = Endpoint.of(new InetSocketAddress("192.168.1.7", 41641));
    final Endpoint other = Endpoint.of(new InetSocketAddress("203.0.113.9", 41641));

    PeerEndpointTest() {
        pe.disco = DiscoPrivateKey.generate().publicKey();
    }

    @Test
    void noPongMeansNoDirectPath() {
        pe.setAdvertised(List.of(pub.address(), lan.address()), 0);
        assertThat(pe.candidates()).containsExactly(pub, lan);
        assertThat(pe.directPath(1000 * MS)).isNull();
        assertThat(pe.wantsFullPing(1000 * MS)).isTrue();
    }

    @Test
    void aPongIsTrustedFor6point5SecondsThenTheSelectorFallsBackToRelay() {
        long t = 10_000 * MS;
        pe.pongReceived(pub, 20 * MS, t);
        assertThat(pe.directPath(t)).isEqualTo(pub);
        assertThat(pe.directPath(t + 6_499 * MS)).isEqualTo(pub);
        assertThat(pe.directPath(t + 6_500 * MS)).isNull();
        assertThat(pe.wantsFullPing(t + 6_500 * MS)).isTrue();
        // A heartbeat pong renews the trust.
        pe.pongReceived(pub, 20 * MS, t + 6_000 * MS);
        assertThat(pe.directPath(t + 12_000 * MS)).isEqualTo(pub);
    }

    @Test
    void heartbeatsOnlyWhileTrustedAndActive() {
        long t = 100_000 * MS;
        pe.pongReceived(pub, 20 * MS, t);
        assertThat(pe.wantsHeartbeat(t)).isFalse(); // no traffic yet
        pe.lastSend = t;
        assertThat(pe.wantsHeartbeat(t)).isTrue();
        pe.lastHeartbeat = t;
        assertThat(pe.wantsHeartbeat(t + 2_999 * MS)).isFalse();
        assertThat(pe.wantsHeartbeat(t + 3_000 * MS)).isTrue();
        assertThat(pe.wantsFullPing(t + 3_000 * MS)).isFalse(); // trusted: no full pings
    }

    @Test
    void aClearlyFasterAddressReplacesTheBestButASlightlyFasterOneDoesNot() {
        long t = 50_000 * MS;
        pe.pongReceived(pub, 20 * MS, t);
        pe.pongReceived(other, (long) (19.9 * MS), t + 1); // within 1 %: keep
        assertThat(pe.directPath(t + 2)).isEqualTo(pub);
        pe.pongReceived(other, 10 * MS, t + 3);
        assertThat(pe.directPath(t + 4)).isEqualTo(other);
    }

    @Test
    void privateAddressesWinTiesAgainstPublicOnes() {
        long t = 50_000 * MS;
        pe.pongReceived(pub, 10 * MS, t);
        pe.pongReceived(lan, 10 * MS, t + 1);
        assertThat(pe.directPath(t + 2)).isEqualTo(lan);
        assertThat(PeerEndpoint.better(pub, 10 * MS, lan, 10 * MS)).isFalse();
    }

    @Test
    void anUntrustedBestIsReplacedByAnyAddressThatPongs() {
        long t = 50_000 * MS;
        pe.pongReceived(lan, 1 * MS, t);
        long later = t + 7_000 * MS;
        pe.pongReceived(pub, 50 * MS, later); // slower, but the old best is stale
        assertThat(pe.directPath(later)).isEqualTo(pub);
    }

    @Test
    void resetForgetsTheProvenPath() {
        pe.pongReceived(pub, 10 * MS, 0);
        pe.resetPath();
        assertThat(pe.directPath(1)).isNull();
    }

    @Test
    void peersWithoutDiscoUseTheirStaticEndpointAndAreNeverPinged() {
        pe.disco = null;
        pe.staticPath = pub;
        assertThat(pe.directPath(0)).isEqualTo(pub);
        assertThat(pe.wantsFullPing(10_000 * MS)).isFalse();
    }

    @Test
    void learnedCandidatesAreBounded() {
        for (int i = 0; i < 100; i++) pe.addCandidate(Endpoint.of(new InetSocketAddress("10.0.0." + i, 1000 + i)), 0);
        assertThat(pe.candidates()).hasSize(PeerEndpoint.MAX_CANDIDATES);
    }

    @Test
    void tailnetAddressesNeverBecomeCandidatesBecauseAPathThroughTheTunnelWouldLoop() {
        assertThat(pe.addCandidate(Endpoint.of(new InetSocketAddress("100.64.0.2", 41641)), 0)).isFalse();
        assertThat(pe.addCandidate(Endpoint.of(new InetSocketAddress("fd7a:115c:a1e0::2", 41641)), 0)).isFalse();
        pe.setAdvertised(java.util.List.of(new InetSocketAddress("100.100.1.1", 41641), new InetSocketAddress("198.51.100.7", 41641)), 0);
        assertThat(pe.candidates()).containsExactly(pub);
        assertThat(pe.addCandidate(Endpoint.of(new InetSocketAddress("100.63.255.255", 41641)), 0)).as("just below 100.64/10").isTrue();
    }
}
