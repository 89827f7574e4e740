package dev.lattice.control.http;

import io.netty.handler.codec.http.HttpRequest;

/**
 * Which requests on the front port may carry a body larger than its default bound (an admin's policy upload), and
 * how large. Deciding may need the database (an API key), so it happens off the event loop, before the body is read.
 */
public interface LargeBodies {
    LargeBodies NONE = new LargeBodies() {
        @Override
        public boolean mayBeLarge(HttpRequest head) {
            return false;
        }

        @Override
        public int limit(HttpRequest head) {
            return 0;
        }
    };

    /** Cheap, on the event loop: whether {@code head} is of a kind that may be large (by method and path). */
    boolean mayBeLarge(HttpRequest head);

    /** On a worker thread (may block): the body limit for {@code head}, or 0 for the default (e.g. no valid key). */
    int limit(HttpRequest head);
}
