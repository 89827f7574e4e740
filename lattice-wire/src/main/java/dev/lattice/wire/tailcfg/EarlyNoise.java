package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.crypto.key.ChallengePublicKey;

/** The JSON of the early payload the server sends first inside a ts2021 connection. Go: tailcfg.go EarlyNoise. */
public record EarlyNoise(
        @JsonProperty("nodeKeyChallenge") ChallengePublicKey nodeKeyChallenge
) {
}
