package dev.lattice.agent.tstun;

import java.util.concurrent.CompletableFuture;

/** Answers one DNS message (the payload of a UDP datagram); {@code MagicDns::handle} is one. */
@FunctionalInterface
public interface DnsHandler {
    /** Completes with the response message, or with null / exceptionally when there is nothing to send back. */
    CompletableFuture<byte[]> handle(byte[] query);
}
