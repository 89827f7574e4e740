package dev.lattice.control.auth;

import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.wire.tailcfg.RegisterRequest;
import dev.lattice.wire.tailcfg.RegisterResponse;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/**
 * An interactive registration waiting for an admin: the machine's request, and the response its follow-up
 * request will get once someone runs {@code lattice-control auth register --auth-id ID --user U}.
 */
public record PendingRegistration(String authId, MachinePublicKey machineKey, RegisterRequest request, Instant created,
        CompletableFuture<RegisterResponse> outcome) {}
