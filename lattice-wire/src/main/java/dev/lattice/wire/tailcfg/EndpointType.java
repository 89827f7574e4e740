package dev.lattice.wire.tailcfg;

/** MapRequest.EndpointTypes values ({@code tailcfg.EndpointType}, an int), parallel to MapRequest.Endpoints. */
public final class EndpointType {
    public static final int UNKNOWN = 0;
    public static final int LOCAL = 1;
    public static final int STUN = 2;
    public static final int PORTMAPPED = 3;
    /** A STUN-discovered IPv4 address paired with the local port. */
    public static final int STUN4_LOCAL_PORT = 4;
    public static final int EXPLICIT_CONF = 5;

    private EndpointType() {}
}
