package dev.lattice.agent.testing;

import dev.lattice.agent.router.Router;
import dev.lattice.agent.router.RouterConfig;
import java.util.ArrayList;
import java.util.List;

/** A router that remembers every configuration it was given instead of touching the host. */
public final class FakeRouter implements Router {
    public final List<RouterConfig> applied = new ArrayList<>();
    public volatile boolean closed;

    @Override
    public synchronized void set(RouterConfig config) {
        applied.add(config);
    }

    /** The configuration in force (the last one set), or EMPTY. */
    public synchronized RouterConfig current() {
        return closed || applied.isEmpty() ? RouterConfig.EMPTY : applied.getLast();
    }

    @Override
    public void close() {
        closed = true;
    }
}
