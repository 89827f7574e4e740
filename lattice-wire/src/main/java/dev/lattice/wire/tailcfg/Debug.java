package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Debug knobs for the client; headscale sets DisableLogTail. Go: tailcfg.go Debug. */
public record Debug(
        @JsonProperty("SleepSeconds") Double sleepSeconds,
        @JsonProperty("DisableLogTail") Boolean disableLogTail,
        @JsonProperty("Exit") Integer exit
) {
}
