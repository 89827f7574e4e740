package dev.lattice.control.store;

import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;

/**
 * Child process for {@link StoreCrashTest}: writes users and nodes as fast as it can and prints
 * {@code COMMITTED <userId> <nodeId>} (other lines are logging) after each committed pair, until killed.
 */
public final class CrashWriter {
    private CrashWriter() {}

    public static void main(String[] args) throws Exception {
        Store store = Store.openSqlite(Path.of(args[0]));
        for (int i = 1; ; i++) {
            User u = store.users().create("user" + i, "User " + i, "");
            Inet4Address v4 = (Inet4Address) InetAddress.getByAddress(new byte[] {100, 64, (byte) (i >> 8), (byte) i});
            TailnetNode n = store.nodes().create(TailnetNode.builder()
                    .machineKey(MachinePrivateKey.generate().publicKey())
                    .nodeKey(NodePrivateKey.generate().publicKey())
                    .hostname("host" + i)
                    .givenName("host" + i)
                    .userId(u.id())
                    .ipv4(v4)
                    .build());
            System.out.println("COMMITTED " + u.id() + " " + n.id());
            System.out.flush();
        }
    }
}
