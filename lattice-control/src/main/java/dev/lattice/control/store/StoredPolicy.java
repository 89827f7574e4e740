package dev.lattice.control.store;

import java.time.Instant;

/** The policy document for {@code policy.mode: database}, kept verbatim (HuJSON comments included). */
public record StoredPolicy(long id, String data, Instant updated) {}
