import dev.lattice.agent.router.Netlink.Change;
import dev.lattice.agent.router.Netlink.Change.Kind;
import dev.lattice.agent.router.NetlinkSocket;
import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wireguard.sys.Libc;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One kind's route changes in a fresh JVM, run by route-changes.sh inside its scratch namespace: a first up's changes
 * (an address and N routes into table 52 on DEV), then ROUNDS times the same removed and added again. Prints
 * "first_us warm_us" (the first change, and the mean of a round's two after it).
 *
 * <p>java -cp lattice.jar RouteChanges.java netlink|ip DEV N ROUNDS
 */
public class RouteChanges {
    public static void main(String[] a) throws Exception {
        String kind = a[0], dev = a[1];
        int n = Integer.parseInt(a[2]), rounds = Integer.parseInt(a[3]);
        Libc.prepareThread(); // latticed's data path has its FFM bindings made long before its first up
        List<Change> add = new ArrayList<>(), del = new ArrayList<>();
        add.add(new Change(Kind.ADDRESS, true, IpPrefix.parse("100.64.0.1/32"), dev, 52));
        for (int i = 0; i < n; i++) {
            IpPrefix p = IpPrefix.parse("100.65." + (i / 250) + "." + (i % 250 + 1) + "/32");
            add.add(new Change(Kind.ROUTE, true, p, dev, 52));
            del.add(new Change(Kind.ROUTE, false, p, dev, 52));
        }
        del.add(new Change(Kind.ADDRESS, false, IpPrefix.parse("100.64.0.1/32"), dev, 52));
        try (NetlinkSocket nl = kind.equals("netlink") ? NetlinkSocket.open() : null) {
            long t0 = System.nanoTime();
            run(kind, nl, add);
            long first = System.nanoTime() - t0;
            t0 = System.nanoTime();
            for (int r = 0; r < rounds; r++) {
                run(kind, nl, del);
                run(kind, nl, add);
            }
            long warm = (System.nanoTime() - t0) / Math.max(1, 2 * rounds);
            System.out.println(first / 1000 + " " + warm / 1000);
        }
    }

    static void run(String kind, NetlinkSocket nl, List<Change> changes) throws Exception {
        if (nl != null) {
            for (var ack : nl.apply(changes)) if (!ack.ok()) throw new IllegalStateException("errno " + ack.errno());
            return;
        }
        // What LinuxRouter ran before: one ip -force -batch - per change, the lines on its stdin.
        StringBuilder in = new StringBuilder();
        for (Change c : changes) in.append(c).append('\n');
        Process p = new ProcessBuilder("ip", "-force", "-batch", "-").redirectErrorStream(true).start();
        try (var os = p.getOutputStream()) {
            os.write(in.toString().getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException("ip -batch: " + out.strip());
    }
}
