package dev.lattice.agent.router;

import java.io.IOException;

/** Makes the host match a {@link RouterConfig}; applying the same config twice changes nothing. */
public interface Router extends AutoCloseable {
    void set(RouterConfig config) throws IOException;

    /** Removes everything this router added. */
    @Override
    void close();
}
