package dev.lattice.agent.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/** Test helper: a TCP server on loopback that echoes every connection back until the client closes it. */
public final class EchoServer {
    private EchoServer() {}

    /** Starts one on an ephemeral port; closing the returned socket stops it. */
    public static ServerSocket start() throws IOException {
        ServerSocket echo = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!echo.isClosed()) {
                try {
                    Socket s = echo.accept();
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            s.getInputStream().transferTo(s.getOutputStream());
                        } catch (IOException ignored) {
                            // closed
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return echo;
    }
}
