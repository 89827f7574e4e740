package dev.lattice.control.admin;

/**
 * An admin operation refused or failed. {@link Code} follows gRPC's status codes because Headscale's REST API
 * (grpc-gateway) reports errors as {@code {"code":N,"message":"..."}} with the HTTP status derived from them.
 */
public final class AdminException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public enum Code {
        INVALID_ARGUMENT(3, 400),
        NOT_FOUND(5, 404),
        ALREADY_EXISTS(6, 409),
        FAILED_PRECONDITION(9, 400),
        UNIMPLEMENTED(12, 501),
        INTERNAL(13, 500),
        UNAUTHENTICATED(16, 401);

        public final int grpc;
        public final int http;

        Code(int grpc, int http) {
            this.grpc = grpc;
            this.http = http;
        }

        static Code ofGrpc(int grpc) {
            for (Code c : values()) if (c.grpc == grpc) return c;
            return INTERNAL;
        }
    }

    private final Code code;

    public AdminException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public Code code() {
        return code;
    }

    static AdminException invalid(String message) {
        return new AdminException(Code.INVALID_ARGUMENT, message);
    }

    static AdminException notFound(String message) {
        return new AdminException(Code.NOT_FOUND, message);
    }
}
