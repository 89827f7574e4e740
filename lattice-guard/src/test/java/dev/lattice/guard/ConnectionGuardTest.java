package dev.lattice.guard;

import static dev.lattice.guard.GuardedChannel.ip;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Admission and accounting of {@link ConnectionGuard}, on embedded channels with real peer addresses. */
class ConnectionGuardTest {
    static final String PROXY = "10.0.0.1";
    static final String PROXY2 = "10.0.0.2";

    static Limits.Builder limits() {
        return Limits.builder().trustedProxy(a -> a.equals(ip(PROXY)) || a.equals(ip(PROXY2)));
    }

    @Nested
    class Admission {
        @Test
        void anonymousConnectionsAreCappedPerSourceAddress() {
            ConnectionGuard guard = new ConnectionGuard(limits().maxAnonymousPerSource(2).build());
            GuardedChannel a1 = GuardedChannel.admitted(guard, "192.0.2.1");
            GuardedChannel a2 = GuardedChannel.admitted(guard, "192.0.2.1");
            GuardedChannel a3 = new GuardedChannel("192.0.2.1");

            assertThat(guard.admit(a3)).isFalse();
            assertThat(a3.isOpen()).as("refused connections are closed").isFalse();
            assertThat(a1.isOpen() && a2.isOpen()).isTrue();
            assertThat(guard.anonymousFrom(ip("192.0.2.1"))).isEqualTo(2);
            assertThat(guard.refused()).isEqualTo(1);
            assertThat(guard.admit(new GuardedChannel("192.0.2.2"))).as("another source is not affected").isTrue();
            assertThat(guard.openConnections()).isEqualTo(3);
        }

        @Test
        void allConnectionsTogetherAreCapped() {
            ConnectionGuard guard = new ConnectionGuard(limits().maxConnections(2).build());
            assertThat(guard.admit(new GuardedChannel("192.0.2.1"))).isTrue();
            assertThat(guard.admit(new GuardedChannel(PROXY))).isTrue();
            GuardedChannel third = new GuardedChannel(PROXY);

            assertThat(guard.admit(third)).as("trusted proxies count towards the total").isFalse();
            assertThat(third.isOpen()).isFalse();
            assertThat(guard.openConnections()).isEqualTo(2);
            assertThat(guard.refused()).isEqualTo(1);
        }

        @Test
        void closingAConnectionGivesBackItsSlots() {
            ConnectionGuard guard = new ConnectionGuard(limits().maxAnonymousPerSource(1).maxConnections(1).build());
            GuardedChannel a = GuardedChannel.admitted(guard, "192.0.2.1");
            assertThat(guard.admit(new GuardedChannel("192.0.2.1"))).isFalse();

            a.close();

            assertThat(guard.openConnections()).isZero();
            assertThat(guard.anonymousFrom(ip("192.0.2.1"))).isZero();
            assertThat(guard.admit(new GuardedChannel("192.0.2.1"))).isTrue();
        }

        @Test
        void trustedProxiesAreExemptFromThePerSourceCap() {
            ConnectionGuard guard = new ConnectionGuard(limits().maxAnonymousPerSource(1).build());
            for (int i = 0; i < 5; i++) assertThat(guard.admit(new GuardedChannel(PROXY))).isTrue();
            assertThat(guard.anonymousFrom(ip(PROXY))).isZero();
            assertThat(guard.openConnections()).isEqualTo(5);
        }

        @Test
        void promotionFreesTheAnonymousSlotButNotTheTotal() {
            ConnectionGuard guard = new ConnectionGuard(limits().maxAnonymousPerSource(1).build());
            GuardedChannel a = GuardedChannel.admitted(guard, "192.0.2.1");
            assertThat(a.conn().isPromoted()).isFalse();
            assertThat(a.conn().maxBody()).isEqualTo(guard.limits().maxAnonymousBody);

            ConnectionGuard.promote(a);

            assertThat(a.conn().isPromoted()).isTrue();
            assertThat(a.conn().maxBody()).isEqualTo(guard.limits().maxBody);
            assertThat(guard.anonymousFrom(ip("192.0.2.1"))).isZero();
            assertThat(guard.admit(new GuardedChannel("192.0.2.1"))).isTrue();
            assertThat(guard.openConnections()).isEqualTo(2);
            a.close();
            assertThat(guard.anonymousFrom(ip("192.0.2.1"))).as("a promoted connection gives back nothing twice").isEqualTo(1);
            assertThat(guard.openConnections()).isEqualTo(1);
        }

        @Test
        void streamChannelsFindTheirConnection() {
            ConnectionGuard guard = new ConnectionGuard(limits().build());
            GuardedChannel parent = GuardedChannel.admitted(guard, "192.0.2.1");
            assertThat(ConnectionGuard.of(parent)).isNotNull();
            assertThat(ConnectionGuard.of(new io.netty.channel.embedded.EmbeddedChannel())).isNull();
            ConnectionGuard.promote(new io.netty.channel.embedded.EmbeddedChannel()); // unguarded: no-op, no throw
        }
    }

    @Nested
    class Attribution {
        @Test
        void aTrustedProxysConnectionIsCountedAgainstTheClientItNames() {
            ConnectionGuard guard = new ConnectionGuard(limits().maxAnonymousPerSource(2).build());
            GuardedChannel viaProxy = GuardedChannel.admitted(guard, PROXY);

            assertThat(viaProxy.conn().attributeTo(ip("198.51.100.7"))).isTrue();
            assertThat(viaProxy.conn().source()).isEqualTo(ip("198.51.100.7"));
            assertThat(guard.anonymousFrom(ip("198.51.100.7"))).isEqualTo(1);

            // A keep-alive connection of a proxy carries the next client's request: the slot moves.
            assertThat(viaProxy.conn().attributeTo(ip("198.51.100.8"))).isTrue();
            assertThat(guard.anonymousFrom(ip("198.51.100.7"))).isZero();
            assertThat(guard.anonymousFrom(ip("198.51.100.8"))).isEqualTo(1);

            viaProxy.close();
            assertThat(guard.anonymousFrom(ip("198.51.100.8"))).isZero();
        }

        @Test
        void attributionIsRefusedWhenTheClientIsAtItsCap() {
            ConnectionGuard guard = new ConnectionGuard(limits().maxAnonymousPerSource(1).build());
            GuardedChannel direct = GuardedChannel.admitted(guard, "198.51.100.7");
            GuardedChannel viaProxy = GuardedChannel.admitted(guard, PROXY);
            long refused = guard.refused();

            assertThat(viaProxy.conn().attributeTo(ip("198.51.100.7"))).isFalse();

            assertThat(viaProxy.conn().source()).as("nothing changes").isEqualTo(ip(PROXY));
            assertThat(guard.anonymousFrom(ip("198.51.100.7"))).isEqualTo(1);
            assertThat(guard.refused()).isEqualTo(refused + 1);
            direct.close();
            assertThat(viaProxy.conn().attributeTo(ip("198.51.100.7"))).isTrue();
        }

        @Test
        void namingTheSameClientAgainHoldsOneSlot() {
            ConnectionGuard guard = new ConnectionGuard(limits().maxAnonymousPerSource(1).build());
            GuardedChannel viaProxy = GuardedChannel.admitted(guard, PROXY);
            for (int i = 0; i < 3; i++) assertThat(viaProxy.conn().attributeTo(ip("198.51.100.7"))).isTrue();
            assertThat(guard.anonymousFrom(ip("198.51.100.7"))).isEqualTo(1);
        }

        @Test
        void namingTheSameClientAgainWhileBytesAreInFlightHoldsOneSlot() {
            // Bytes in flight keep being charged to the old source, so the connection's source does not change
            // at once; its slot still belongs to the client, and naming that client again must not need a second.
            ConnectionGuard guard = new ConnectionGuard(limits().maxAnonymousPerSource(1).build());
            GuardedChannel viaProxy = GuardedChannel.admitted(guard, PROXY);
            ConnectionGuard.Conn c = viaProxy.conn();
            assertThat(c.reserve(10)).isTrue();

            assertThat(c.attributeTo(ip("198.51.100.7"))).isTrue();
            assertThat(c.attributeTo(ip("198.51.100.7"))).isTrue();

            assertThat(guard.anonymousFrom(ip("198.51.100.7"))).isEqualTo(1);
            c.release(10);
            assertThat(c.attributeTo(ip("198.51.100.7"))).isTrue();
            assertThat(c.source()).as("once nothing is in flight the client is the source").isEqualTo(ip("198.51.100.7"));
            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void aClientThatIsItselfATrustedProxyTakesNoSlot() {
            ConnectionGuard guard = new ConnectionGuard(limits().maxAnonymousPerSource(1).build());
            GuardedChannel viaProxy = GuardedChannel.admitted(guard, PROXY);
            assertThat(viaProxy.conn().attributeTo(ip("198.51.100.7"))).isTrue();
            assertThat(viaProxy.conn().attributeTo(ip(PROXY2))).isTrue();
            assertThat(guard.anonymousFrom(ip("198.51.100.7"))).isZero();
            assertThat(guard.anonymousFrom(ip(PROXY2))).isZero();
        }

        @Test
        void connectionsNotFromATrustedProxyCannotBeAttributed() {
            ConnectionGuard guard = new ConnectionGuard(limits().maxAnonymousPerSource(1).build());
            GuardedChannel stranger = GuardedChannel.admitted(guard, "192.0.2.1");

            assertThat(stranger.conn().attributeTo(ip("198.51.100.7"))).as("nothing to refuse: the request goes on").isTrue();

            assertThat(stranger.conn().source()).isEqualTo(ip("192.0.2.1"));
            assertThat(guard.anonymousFrom(ip("198.51.100.7"))).isZero();
            assertThat(guard.anonymousFrom(ip("192.0.2.1"))).isEqualTo(1);
        }

        @Test
        void aPromotedConnectionTakesNoSlotWhenAttributed() {
            ConnectionGuard guard = new ConnectionGuard(limits().maxAnonymousPerSource(1).build());
            GuardedChannel viaProxy = GuardedChannel.admitted(guard, PROXY);
            ConnectionGuard.promote(viaProxy);
            assertThat(viaProxy.conn().attributeTo(ip("198.51.100.7"))).isTrue();
            assertThat(guard.anonymousFrom(ip("198.51.100.7"))).isZero();
            assertThat(viaProxy.conn().source()).isEqualTo(ip("198.51.100.7"));
        }

        @Test
        void aClosedConnectionCannotBeAttributed() {
            ConnectionGuard guard = new ConnectionGuard(limits().build());
            GuardedChannel viaProxy = GuardedChannel.admitted(guard, PROXY);
            ConnectionGuard.Conn c = viaProxy.conn();
            viaProxy.close();
            assertThat(c.attributeTo(ip("198.51.100.7"))).isFalse();
            assertThat(guard.anonymousFrom(ip("198.51.100.7"))).isZero();
        }
    }

    @Nested
    class BodyBudgets {
        // 100 per connection, 150 per source, 200 in all.
        final ConnectionGuard guard = new ConnectionGuard(limits().bodyBytes(100, 150, 200).build());

        @Test
        void theConnectionsBudget() {
            ConnectionGuard.Conn c = GuardedChannel.admitted(guard, "192.0.2.1").conn();
            assertThat(c.reserve(60)).isTrue();
            assertThat(c.reserve(40)).isTrue();
            assertThat(c.reserve(1)).isFalse();
            assertThat(guard.bodyBytesInFlight()).as("a refusal reserves nothing").isEqualTo(100);
            c.release(40);
            assertThat(c.reserve(40)).isTrue();
            assertThat(guard.shedRequests()).isEqualTo(1);
        }

        @Test
        void theSourcesBudgetIsSharedByItsConnections() {
            ConnectionGuard.Conn a = GuardedChannel.admitted(guard, "192.0.2.1").conn();
            ConnectionGuard.Conn b = GuardedChannel.admitted(guard, "192.0.2.1").conn();
            ConnectionGuard.Conn other = GuardedChannel.admitted(guard, "192.0.2.2").conn();
            assertThat(a.reserve(100)).isTrue();
            assertThat(b.reserve(50)).isTrue();

            assertThat(b.reserve(1)).isFalse();
            assertThat(other.reserve(1)).as("another source has its own budget").isTrue();
            a.release(1);
            assertThat(b.reserve(1)).isTrue();
            assertThat(guard.shedRequests()).isEqualTo(1);
            assertThat(guard.bodyBytesInFlight()).isEqualTo(151);
        }

        @Test
        void theServersBudgetIsSharedByEveryone() {
            ConnectionGuard.Conn a = GuardedChannel.admitted(guard, "192.0.2.1").conn();
            ConnectionGuard.Conn b = GuardedChannel.admitted(guard, "192.0.2.2").conn();
            ConnectionGuard.Conn c = GuardedChannel.admitted(guard, "192.0.2.3").conn();
            assertThat(a.reserve(100)).isTrue();
            assertThat(b.reserve(100)).isTrue();

            assertThat(c.reserve(1)).isFalse();
            assertThat(guard.bodyBytesInFlight()).isEqualTo(200);
            b.release(100);
            assertThat(c.reserve(100)).as("nothing of the refusal stuck to c's connection or source").isTrue();
            assertThat(guard.shedRequests()).isEqualTo(1);
        }

        @Test
        void trustedProxiesAreExemptFromTheSourcesBudgetButNotTheConnectionsOrServers() {
            ConnectionGuard.Conn p1 = GuardedChannel.admitted(guard, PROXY).conn();
            ConnectionGuard.Conn p2 = GuardedChannel.admitted(guard, PROXY).conn();
            ConnectionGuard.Conn p3 = GuardedChannel.admitted(guard, PROXY).conn();
            assertThat(p1.reserve(100)).isTrue();
            assertThat(p2.reserve(100)).as("200 from one proxy, over the per-source 150").isTrue();
            assertThat(p1.reserve(1)).as("the connection's budget still holds").isFalse();
            assertThat(p3.reserve(1)).as("the server's budget still holds").isFalse();
        }

        @Test
        void anAttributedConnectionChargesTheClient() {
            ConnectionGuard.Conn direct = GuardedChannel.admitted(guard, "198.51.100.7").conn();
            ConnectionGuard.Conn viaProxy = GuardedChannel.admitted(guard, PROXY).conn();
            assertThat(viaProxy.attributeTo(ip("198.51.100.7"))).isTrue();
            assertThat(direct.reserve(100)).isTrue();

            assertThat(viaProxy.reserve(51)).as("the client's 150 are shared with its proxied connection").isFalse();
            assertThat(viaProxy.reserve(50)).isTrue();
            viaProxy.release(50);
            direct.release(100);
            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void trustedReservationsChargeOnlyTheServer() {
            ConnectionGuard.Conn c = GuardedChannel.admitted(guard, "192.0.2.1").conn();
            ConnectionGuard.Conn sibling = GuardedChannel.admitted(guard, "192.0.2.1").conn();
            assertThat(c.reserveTrusted(120)).as("over the connection's and the source's budgets").isTrue();
            assertThat(guard.bodyBytesInFlight()).isEqualTo(120);
            assertThat(c.reserve(80)).as("the connection's own budget is untouched").isTrue();
            assertThat(sibling.reserve(1)).as("the server's budget is spent").isFalse();
            c.release(80);
            assertThat(sibling.reserve(80)).as("the source's budget is untouched").isTrue();
            assertThat(c.reserveTrusted(1)).isFalse();
            c.releaseTrusted(120);
            sibling.release(80);
            assertThat(guard.bodyBytesInFlight()).isZero();
        }

        @Test
        void releasingNothingOrLessThanNothingChangesNothing() {
            ConnectionGuard.Conn c = GuardedChannel.admitted(guard, "192.0.2.1").conn();
            assertThat(c.reserve(10)).isTrue();
            c.release(0);
            c.release(-5);
            c.releaseTrusted(0);
            assertThat(guard.bodyBytesInFlight()).isEqualTo(10);
        }

        @Test
        void sourcesAreForgottenOnceTheyHoldNothing() {
            // A flood of sources while the server's budget is spent must not leave an entry per source behind.
            ConnectionGuard.Conn big = GuardedChannel.admitted(guard, "192.0.2.1").conn();
            ConnectionGuard.Conn big2 = GuardedChannel.admitted(guard, "192.0.2.2").conn();
            assertThat(big.reserve(100) && big2.reserve(100)).isTrue();
            for (int i = 0; i < 200; i++) {
                assertThat(GuardedChannel.admitted(guard, "2001:db8::" + Integer.toHexString(i + 1)).conn().reserve(1)).isFalse();
            }
            big.release(100);
            big2.release(100);
            assertThat(guard.bodyBytesInFlight()).isZero();
            assertThat(guard.sourcesHoldingBodyBytes()).isZero();
        }
    }

    @Test
    void theSourcesBudgetHoldsUnderConcurrentReserveAndRelease() throws Exception {
        // Connections of one source on different event loops reserve and release at once; never may more than
        // the source's budget be held. A budget of one byte makes a single lost charge visible (the table entry
        // was removed at zero while another thread was charging it, which then charged nothing).
        int budget = 1;
        ConnectionGuard guard = new ConnectionGuard(limits().bodyBytes(1_000, budget, 1_000_000).build());
        int threads = 4;
        List<ConnectionGuard.Conn> conns = new ArrayList<>();
        for (int i = 0; i < threads; i++) conns.add(GuardedChannel.admitted(guard, "192.0.2.1").conn());
        AtomicInteger holding = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (ConnectionGuard.Conn c : conns) {
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 500_000; i++) {
                    if (c.reserve(1)) {
                        most.accumulateAndGet(holding.incrementAndGet(), Math::max);
                        holding.decrementAndGet();
                        c.release(1);
                    }
                }
            }));
        }
        start.countDown();
        for (Thread t : workers) t.join();

        assertThat(most.get()).isLessThanOrEqualTo(budget);
        assertThat(guard.bodyBytesInFlight()).isZero();
        assertThat(guard.sourcesHoldingBodyBytes()).isZero();
    }
}
