package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.crypto.key.MachinePublicKey;

/** Reply to {@code GET /key?v=<capver>}: the server's Noise key (legacy key may be the zero key). Go: tailcfg.go OverTLSPublicKeyResponse. */
public record OverTLSPublicKeyResponse(
        @JsonProperty("legacyPublicKey") MachinePublicKey legacyPublicKey,
        @JsonProperty("publicKey") MachinePublicKey publicKey
) {
}
