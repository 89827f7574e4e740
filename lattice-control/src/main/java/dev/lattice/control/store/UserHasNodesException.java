package dev.lattice.control.store;

/** Deleting a user that still owns nodes, without {@code force}. */
public final class UserHasNodesException extends StoreException {
    private static final long serialVersionUID = 1L;
    private final int nodeCount;

    public UserHasNodesException(String user, int nodeCount) {
        super("user \"" + user + "\" still has " + nodeCount + " node(s); delete them first or force");
        this.nodeCount = nodeCount;
    }

    public int nodeCount() {
        return nodeCount;
    }
}
