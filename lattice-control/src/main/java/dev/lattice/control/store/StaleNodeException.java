package dev.lattice.control.store;

/**
 * A node was written from a copy older than its row: another replica changed it since this one read it. The writer
 * reads the row again and reapplies its change, so no replica's write is lost.
 */
public final class StaleNodeException extends ConflictException {
    private static final long serialVersionUID = 1L;

    public StaleNodeException(long id) {
        super("node " + id + " was changed by another replica meanwhile", null);
    }
}
