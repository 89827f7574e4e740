package dev.lattice.agent.filter;

/** What the filter decided for one packet. */
public enum Verdict {
    ACCEPT,
    DROP
}
