package dev.lattice.agent.ipn;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The backend's answer to up: its state, for interactive login the URL the user must visit, and when the control
 * server refused the login its final error (tailscale's {@code Notify.ErrMessage}; the CLI prints
 * {@code backend error: <message>} and exits 1).
 */
public record UpResult(@JsonProperty("BackendState") BackendState state, @JsonProperty("AuthURL") String authUrl,
        @JsonProperty("ErrMessage") String errMessage) {
    public UpResult(BackendState state, String authUrl) {
        this(state, authUrl, null);
    }
}
