package dev.lattice.agent.peerapi;

import java.util.concurrent.CompletionStage;

/**
 * One route of the peer API. Called on a virtual thread (it may block); an exception or a failed stage becomes a
 * 500 without details. The request body is whole (bounded by the server's body limit).
 */
@FunctionalInterface
public interface PeerApiHandler {
    CompletionStage<PeerApiResponse> handle(PeerApiRequest request) throws Exception;
}
