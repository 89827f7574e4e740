package dev.lattice.control.auth;

/**
 * A registration the server refuses. The client hears it as {@code RegisterResponse.Error} in an HTTP 200, which
 * the official client treats as final ({@code backend error: <message>}) where it retries any other status; the
 * message is the text headscale sends in the same case.
 */
final class Refusal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Refusal(String message) {
        super(message, null, false, false);
    }
}
