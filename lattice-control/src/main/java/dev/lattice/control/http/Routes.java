package dev.lattice.control.http;

import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;

/**
 * Plain request/response endpoints of the front port (everything but the ts2021 and DERP upgrades). Called on a
 * virtual thread, so it may block (database); must not keep a reference to the request after returning.
 */
@FunctionalInterface
public interface Routes {
    /** @return the response, or null for 404 */
    FullHttpResponse handle(FullHttpRequest request) throws Exception;
}
