package dev.lattice.systemd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * sd_notify(3) for a daemon run by systemd with {@code Type=notify}: {@code READY=1} once the daemon serves,
 * {@code STOPPING=1} when it starts shutting down, {@code STATUS=} lines for {@code systemctl status}.
 *
 * <p>systemd names its socket in {@code $NOTIFY_SOCKET}: a path, or {@code @name} for the abstract namespace.
 * Without that variable (not started by systemd, or not {@code Type=notify}) every call does nothing, and no
 * native code is touched. A message that cannot be sent is logged, never thrown: a daemon must not die because
 * its service manager's socket went away (systemd then times the start out, which names the problem).
 */
public final class SystemdNotify {
    private static final Logger log = LoggerFactory.getLogger(SystemdNotify.class);
    /** sun_path is 108 bytes on Linux; a path socket also needs its terminating NUL in there. */
    static final int SUN_PATH_MAX = 108;

    private final String socket;

    private SystemdNotify(String socket) {
        this.socket = socket;
    }

    /** The notifier for this process: {@code $NOTIFY_SOCKET}, or one that does nothing when it is unset. */
    public static SystemdNotify fromEnvironment() {
        return forSocket(System.getenv("NOTIFY_SOCKET"));
    }

    /** A notifier for the given {@code $NOTIFY_SOCKET} value; null or blank does nothing. */
    public static SystemdNotify forSocket(String notifySocket) {
        return new SystemdNotify(notifySocket == null || notifySocket.isBlank() ? null : notifySocket);
    }

    /** The socket messages go to, if any. */
    public Optional<String> socket() {
        return Optional.ofNullable(socket);
    }

    /** The daemon serves now: {@code Type=notify} units leave "activating" and dependents start. */
    public void ready(String status) {
        notify("READY=1\nSTATUS=" + oneLine(status));
    }

    /** Shutdown has begun. */
    public void stopping() {
        notify("STOPPING=1");
    }

    /** A one-line status for {@code systemctl status}. */
    public void status(String status) {
        notify("STATUS=" + oneLine(status));
    }

    private void notify(String message) {
        if (socket == null) return;
        try {
            send(socket, message);
        } catch (IOException | RuntimeException e) {
            log.warn("cannot notify systemd at {}: {}", socket, e.getMessage());
        }
    }

    /** Sends one datagram of {@code message} to {@code notifySocket} ({@code /path} or {@code @abstract}). */
    static void send(String notifySocket, String message) throws IOException {
        Objects.requireNonNull(message);
        NativeDatagram.sendTo(address(notifySocket), message.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The bytes of sun_path as the kernel wants them: an abstract name starts with a NUL byte and is not
     * terminated (its length is the address length); a path is NUL-terminated.
     */
    static byte[] address(String notifySocket) throws IOException {
        byte[] name = notifySocket.getBytes(StandardCharsets.UTF_8);
        byte[] path;
        if (notifySocket.startsWith("@")) {
            path = name.clone();
            path[0] = 0;
        } else if (notifySocket.startsWith("/")) {
            path = new byte[name.length + 1];
            System.arraycopy(name, 0, path, 0, name.length);
        } else {
            // systemd 256 also hands VMs "vsock:CID:PORT"; a JVM daemon has no use for that yet.
            throw new IOException("unsupported NOTIFY_SOCKET address (only /path and @abstract)");
        }
        if (path.length > SUN_PATH_MAX) throw new IOException("NOTIFY_SOCKET path longer than " + SUN_PATH_MAX + " bytes");
        return path;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ');
    }
}
