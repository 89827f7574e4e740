package dev.lattice.systemd;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * One datagram to a unix socket through libc (socket, sendto, close). The JDK opens unix domain sockets only as
 * streams ({@code SocketChannel}); {@code DatagramChannel} refuses {@code StandardProtocolFamily.UNIX}, and
 * systemd's notify socket is {@code SOCK_DGRAM}. Loaded only when a message is actually sent.
 */
final class NativeDatagram {
    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int MSG_NOSIGNAL = 0x4000;
    /** offsetof(struct sockaddr_un, sun_path): after the 2-byte sun_family. */
    private static final int SUN_PATH_OFFSET = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final MethodHandle SOCKET = bind("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle SENDTO = bind("sendto",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private NativeDatagram() {}

    // Native access is the point here; the launchers and the jar manifest enable it (--enable-native-access).
    @SuppressWarnings("restricted")
    private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(symbol, fd, options);
    }

    /** Sends {@code payload} to the unix datagram socket whose sun_path bytes are {@code sunPath}. */
    static void sendTo(byte[] sunPath, byte[] payload) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            MemorySegment addr = arena.allocate(SUN_PATH_OFFSET + SystemdNotify.SUN_PATH_MAX);
            addr.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(sunPath, 0, addr, JAVA_BYTE, SUN_PATH_OFFSET, sunPath.length);
            MemorySegment buf = arena.allocateFrom(JAVA_BYTE, payload);
            int fd = (int) SOCKET.invokeExact(state, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) throw new IOException("socket(AF_UNIX, SOCK_DGRAM): errno " + errno(state));
            try {
                long n = (long) SENDTO.invokeExact(state, fd, buf, (long) payload.length, MSG_NOSIGNAL, addr,
                        SUN_PATH_OFFSET + sunPath.length);
                if (n < 0) throw new IOException("sendto: errno " + errno(state));
                if (n != payload.length) throw new IOException("sendto: short write " + n + " of " + payload.length);
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }
}
