package dev.lattice.derp.server;

import dev.lattice.crypto.key.NodePublicKey;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Decides whether a node may use this relay (derper's {@code --verify-clients}/{@code --verify-client-url}). Called
 * once per connection after the client proved its key; mesh peers presenting the mesh key are not asked. The
 * connection reads nothing more until the answer arrives; an exceptional or late (5 s) answer refuses the client.
 */
@FunctionalInterface
public interface ClientVerifier {
    CompletionStage<Boolean> admit(NodePublicKey client, InetSocketAddress source);

    ClientVerifier ALLOW_ALL = (client, source) -> CompletableFuture.completedFuture(true);
}
