package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Update availability for the client. Go: tailcfg.go ClientVersion. */
public record ClientVersion(
        @JsonProperty("RunningLatest") Boolean runningLatest,
        @JsonProperty("LatestVersion") String latestVersion,
        @JsonProperty("UrgentSecurityUpdate") Boolean urgentSecurityUpdate,
        @JsonProperty("Notify") Boolean shouldNotify,
        @JsonProperty("NotifyURL") String notifyUrl,
        @JsonProperty("NotifyText") String notifyText
) {
}
