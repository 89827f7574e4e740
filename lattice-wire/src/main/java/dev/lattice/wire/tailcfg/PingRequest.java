package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.InetAddress;

/** Asks the client to ping ("disco", "TSMP", "c2n",...) and report to URL. Go: tailcfg.go PingRequest. */
public record PingRequest(
        @JsonProperty("URL") String url,
        @JsonProperty("URLIsNoise") Boolean urlIsNoise,
        @JsonProperty("Log") Boolean log,
        @JsonProperty("Types") String types,
        @JsonProperty("IP") InetAddress ip,
        @JsonProperty("Payload") byte[] payload
) {
}
