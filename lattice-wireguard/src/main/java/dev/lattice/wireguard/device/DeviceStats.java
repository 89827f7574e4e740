package dev.lattice.wireguard.device;

import java.util.concurrent.atomic.LongAdder;

/** Counters of what the device dropped and why; bad input is counted, never fatal. */
public final class DeviceStats {
    public final LongAdder malformed = new LongAdder();
    public final LongAdder unknownIndex = new LongAdder();
    public final LongAdder decryptFailed = new LongAdder();
    public final LongAdder replayed = new LongAdder();
    public final LongAdder expiredKeypair = new LongAdder();
    public final LongAdder disallowedSource = new LongAdder();
    public final LongAdder noRoute = new LongAdder();
    public final LongAdder noEndpoint = new LongAdder();
    public final LongAdder handshakeRejected = new LongAdder();
    public final LongAdder handshakeQueueFull = new LongAdder();
    public final LongAdder cookieRepliesSent = new LongAdder();
    public final LongAdder rateLimited = new LongAdder();
    public final LongAdder stagedDropped = new LongAdder();
    public final LongAdder sendFailed = new LongAdder();

    @Override
    public String toString() {
        return "malformed=" + malformed + " unknownIndex=" + unknownIndex + " decryptFailed=" + decryptFailed
                + " replayed=" + replayed + " expired=" + expiredKeypair + " disallowedSource=" + disallowedSource
                + " noRoute=" + noRoute + " noEndpoint=" + noEndpoint + " handshakeRejected=" + handshakeRejected
                + " handshakeQueueFull=" + handshakeQueueFull + " cookieReplies=" + cookieRepliesSent
                + " rateLimited=" + rateLimited + " stagedDropped=" + stagedDropped + " sendFailed=" + sendFailed;
    }
}
