package dev.lattice.wireguard.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls the data path needs, bound through FFM (no JNI, no native build step).
 *
 * <p>Packet I/O calls ({@code read}, {@code write}, {@code recvfrom}, {@code sendto}) are bound as
 * <em>critical</em> with heap access, so they take {@code byte[]}-backed segments directly and the bytes go
 * from the kernel straight into the arrays the cipher works on. Critical calls must not block, so every fd
 * used with them is non-blocking and threads wait in {@link #poll}, which is an ordinary (non-critical) call.
 */
public final class Libc {
    public static final int O_RDWR = 2;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;
    public static final int EAGAIN = 11;
    public static final int EINTR = 4;
    public static final short POLLIN = 1;
    public static final short POLLOUT = 4;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final Linker.Option CRITICAL = Linker.Option.critical(true);

    private static final MethodHandle OPEN = bind("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL = bind("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle READ = bind("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO, CRITICAL);
    private static final MethodHandle WRITE = bind("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO, CRITICAL);
    private static final MethodHandle POLL = bind("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle SOCKET = bind("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle SOCKETPAIR = bind("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), CAPTURE_ERRNO);
    private static final MethodHandle BIND = bind("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle SETSOCKOPT = bind("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle GETSOCKNAME = bind("getsockname",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), CAPTURE_ERRNO);
    private static final MethodHandle RECVFROM = bind("recvfrom",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS),
            CAPTURE_ERRNO, CRITICAL);
    private static final MethodHandle SENDTO = bind("sendto",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT),
            CAPTURE_ERRNO, CRITICAL);
    private static final MethodHandle SENDMSG = bind("sendmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle RECVMSG = bind("recvmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle STRERROR = bind("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    private static final MethodHandle GETTID = bind("gettid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle SETPRIORITY = bind("setpriority",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
    private static final int PRIO_PROCESS = 0;

    /** Per-thread errno capture buffer: each packet thread reuses its own, so calls allocate nothing. */
    private static final ThreadLocal<MemorySegment> ERRNO_STATE =
            ThreadLocal.withInitial(() -> Arena.global().allocate(CAPTURE));

    private Libc() {}

    private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc: " + name));
        return LINKER.downcallHandle(sym, fd, options);
    }

    /**
     * Gives this thread its errno buffer now. A packet thread calls it when it starts: made at its first system call
     * instead, inside compiled packet code, the per-thread lookup's "first time" branch (which C2 had never seen
     * taken) deoptimised that code at a first transfer.
     */
    public static void prepareThread() {
        ERRNO_STATE.get();
    }

    /** The errno captured by this thread's last call. */
    public static int errno() {
        return (int) ERRNO.get(ERRNO_STATE.get(), 0L);
    }

    /**
     * Sets the calling thread's nice value (Linux schedules threads, so {@code setpriority} on its thread id touches no
     * other thread); false if the kernel refused. Raising it needs no privilege; lowering it back does.
     */
    public static boolean niceCurrentThread(int nice) {
        try {
            int tid = (int) GETTID.invokeExact();
            return (int) SETPRIORITY.invokeExact(ERRNO_STATE.get(), PRIO_PROCESS, tid, nice) == 0;
        } catch (Throwable t) {
            return false;
        }
    }

    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    public static IOException error(String what) {
        int e = errno();
        return new IOException(what + ": " + strerror(e) + " (errno " + e + ")");
    }

    public static int open(String path, int flags) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(ERRNO_STATE.get(), a.allocateFrom(path), flags, 0);
            if (fd < 0) throw error("open " + path);
            return fd;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    public static int ioctl(int fd, long request, MemorySegment arg) {
        try {
            return (int) IOCTL.invokeExact(ERRNO_STATE.get(), fd, request, arg);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static int close(int fd) {
        try {
            return (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Non-blocking read into {@code buf[off..off+len)}: bytes read, or -1 with errno set (EAGAIN when empty). */
    public static int read(int fd, byte[] buf, int off, int len) {
        try {
            return (int) (long) READ.invokeExact(ERRNO_STATE.get(), fd, MemorySegment.ofArray(buf).asSlice(off, len), (long) len);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static int read(int fd, MemorySegment seg, long len) {
        try {
            return (int) (long) READ.invokeExact(ERRNO_STATE.get(), fd, seg, len);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static int write(int fd, byte[] buf, int off, int len) {
        try {
            return (int) (long) WRITE.invokeExact(ERRNO_STATE.get(), fd, MemorySegment.ofArray(buf).asSlice(off, len), (long) len);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Waits until {@code fd} is ready for {@code events} or the timeout passes; returns poll's result. */
    public static int poll(MemorySegment pollfd, int fd, short events, int timeoutMillis) {
        pollfd.set(JAVA_INT, 0, fd);
        pollfd.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 4, events);
        pollfd.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 6, (short) 0);
        try {
            return (int) POLL.invokeExact(ERRNO_STATE.get(), pollfd, 1L, timeoutMillis);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static int socket(int domain, int type, int protocol) throws IOException {
        try {
            int fd = (int) SOCKET.invokeExact(ERRNO_STATE.get(), domain, type, protocol);
            if (fd < 0) throw error("socket");
            return fd;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** A pair of connected sockets ({@code socketpair(2)}): their two fds. */
    public static int[] socketpair(int domain, int type, int protocol) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sv = a.allocate(JAVA_INT, 2);
            int r = (int) SOCKETPAIR.invokeExact(ERRNO_STATE.get(), domain, type, protocol, sv);
            if (r < 0) throw error("socketpair");
            return new int[] {sv.getAtIndex(JAVA_INT, 0), sv.getAtIndex(JAVA_INT, 1)};
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    public static int bind(int fd, MemorySegment addr, int addrLen) {
        try {
            return (int) BIND.invokeExact(ERRNO_STATE.get(), fd, addr, addrLen);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static int setsockoptInt(int fd, int level, int name, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocateFrom(JAVA_INT, value);
            return (int) SETSOCKOPT.invokeExact(ERRNO_STATE.get(), fd, level, name, v, 4);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static int getsockname(int fd, MemorySegment addr, MemorySegment addrLen) {
        try {
            return (int) GETSOCKNAME.invokeExact(ERRNO_STATE.get(), fd, addr, addrLen);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** sendmsg with a native msghdr (its buffers must be native too: pointers inside structs can't be heap). */
    public static long sendmsg(int fd, MemorySegment msghdr, int flags) {
        try {
            return (long) SENDMSG.invokeExact(ERRNO_STATE.get(), fd, msghdr, flags);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static long recvmsg(int fd, MemorySegment msghdr, int flags) {
        try {
            return (long) RECVMSG.invokeExact(ERRNO_STATE.get(), fd, msghdr, flags);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Non-blocking recvfrom into a heap array; the sender's sockaddr lands in {@code addr}. */
    public static int recvfrom(int fd, byte[] buf, int off, int len, MemorySegment addr, MemorySegment addrLen) {
        try {
            return (int) (long) RECVFROM.invokeExact(ERRNO_STATE.get(), fd,
                    MemorySegment.ofArray(buf).asSlice(off, len), (long) len, 0, addr, addrLen);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static int sendto(int fd, MemorySegment data, int len, MemorySegment addr, int addrLen) {
        try {
            return (int) (long) SENDTO.invokeExact(ERRNO_STATE.get(), fd, data, (long) len, 0, addr, addrLen);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static int sendto(int fd, byte[] buf, int off, int len, MemorySegment addr, int addrLen) {
        try {
            return (int) (long) SENDTO.invokeExact(ERRNO_STATE.get(), fd,
                    MemorySegment.ofArray(buf).asSlice(off, len), (long) len, 0, addr, addrLen);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
