package dev.lattice.guard;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/**
 * The JVM's name resolver in this module's tests (registered in {@code META-INF/services}): it resolves with the
 * built-in resolver and records every lookup with the thread that asked, so a test can show that code it ran
 * never resolved a name.
 */
public final class RecordingResolverProvider extends InetAddressResolverProvider {
    /** A lookup: which thread asked for what (a host name, or an address to name). */
    record Lookup(Thread thread, String what) {}

    private static final List<Lookup> LOOKUPS = new CopyOnWriteArrayList<>();

    /** Lookups {@code thread} has made so far. */
    static List<String> lookupsBy(Thread thread) {
        return LOOKUPS.stream().filter(l -> l.thread() == thread).map(Lookup::what).toList();
    }

    @Override
    public InetAddressResolver get(Configuration configuration) {
        InetAddressResolver builtin = configuration.builtinResolver();
        return new InetAddressResolver() {
            @Override
            public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
                LOOKUPS.add(new Lookup(Thread.currentThread(), host));
                return builtin.lookupByName(host, policy);
            }

            @Override
            public String lookupByAddress(byte[] addr) throws UnknownHostException {
                LOOKUPS.add(new Lookup(Thread.currentThread(), InetAddress.getByAddress(addr).getHostAddress()));
                return builtin.lookupByAddress(addr);
            }
        };
    }

    @Override
    public String name() {
        return "lattice-guard test recorder";
    }
}
