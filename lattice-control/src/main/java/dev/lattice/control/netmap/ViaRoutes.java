package dev.lattice.control.netmap;

import dev.lattice.wire.ip.IpPrefix;
import java.util.List;

/**
 * What the policy's {@code via} grants do to one peer's routes in one viewer's netmap (headscale's
 * {@code types.ViaRouteResult}).
 *
 * @param include routes this peer serves to this viewer because a via grant names it (whether or not it is the
 *     elected primary)
 * @param exclude routes a via grant steers this viewer to another peer for: the peer does not serve them to it
 * @param usePrimary routes of {@code include} that a regular grant covers too: then only the elected primary serves
 *     them
 */
public record ViaRoutes(List<IpPrefix> include, List<IpPrefix> exclude, List<IpPrefix> usePrimary) {
    public static final ViaRoutes NONE = new ViaRoutes(List.of(), List.of(), List.of());

    public ViaRoutes {
        include = List.copyOf(include);
        exclude = List.copyOf(exclude);
        usePrimary = List.copyOf(usePrimary);
    }

    public boolean isEmpty() {
        return include.isEmpty() && exclude.isEmpty();
    }
}
