package dev.lattice.agent.ipn;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The backend's answer to up: its state, and for interactive login the URL the user must visit. */
public record UpResult(@JsonProperty("BackendState") BackendState state, @JsonProperty("AuthURL") String authUrl) {}
