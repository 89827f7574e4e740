package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Reply to {@code POST /machine/register}. Go: tailcfg.go RegisterResponse. */
public record RegisterResponse(
        @JsonProperty("User") User user,
        @JsonProperty("Login") Login login,
        @JsonProperty("NodeKeyExpired") Boolean nodeKeyExpired,
        @JsonProperty("MachineAuthorized") Boolean machineAuthorized,
        @JsonProperty("AuthURL") String authUrl, // set while authorization is pending
        @JsonProperty("NodeKeySignature") byte[] nodeKeySignature,
        @JsonProperty("Error") String error // non-empty = failed; other fields are then ignored
) {

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this record's values, to change a few. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.user = user;
        b.login = login;
        b.nodeKeyExpired = nodeKeyExpired;
        b.machineAuthorized = machineAuthorized;
        b.authUrl = authUrl;
        b.nodeKeySignature = nodeKeySignature;
        b.error = error;
        return b;
    }

    /** Field-by-field construction; unset fields stay null (absent on the wire). */
    public static final class Builder {
        private User user;
        private Login login;
        private Boolean nodeKeyExpired;
        private Boolean machineAuthorized;
        private String authUrl;
        private byte[] nodeKeySignature;
        private String error;

        private Builder() {}

        public Builder user(User user) {
            this.user = user;
            return this;
        }

        public Builder login(Login login) {
            this.login = login;
            return this;
        }

        public Builder nodeKeyExpired(Boolean nodeKeyExpired) {
            this.nodeKeyExpired = nodeKeyExpired;
            return this;
        }

        public Builder machineAuthorized(Boolean machineAuthorized) {
            this.machineAuthorized = machineAuthorized;
            return this;
        }

        public Builder authUrl(String authUrl) {
            this.authUrl = authUrl;
            return this;
        }

        public Builder nodeKeySignature(byte[] nodeKeySignature) {
            this.nodeKeySignature = nodeKeySignature;
            return this;
        }

        public Builder error(String error) {
            this.error = error;
            return this;
        }

        public RegisterResponse build() {
            return new RegisterResponse(user, login, nodeKeyExpired, machineAuthorized, authUrl, nodeKeySignature, error);
        }
    }
}
