package dev.lattice.wireguard.uapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.crypto.key.PresharedKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The unmodified {@code wg} tool configures and reads a {@link FakeUapiDevice} through our server on
 * {@code /var/run/wireguard/<name>.sock}, where {@code wg} looks for userspace interfaces (it stats and connects to
 * the socket directly; no network interface is needed).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UapiServerWgToolTest {
    static final NodePrivateKey DEVICE_KEY = NodePrivateKey.generate();
    static final NodePrivateKey PEER_KEY = NodePrivateKey.generate();
    static final NodePublicKey PEER = PEER_KEY.publicKey();
    static final NodePublicKey PEER_2 = NodePrivateKey.generate().publicKey();

    @TempDir
    Path dir;
    String ifname;
    FakeUapiDevice device;
    UapiServer server;
    Path privateKeyFile;

    @BeforeEach
    void start() throws IOException {
        Assumptions.assumeTrue(Proc.which("wg") != null, "wg (wireguard-tools) is not on PATH");
        Path sockets = UapiServer.SOCKET_DIRECTORY;
        Assumptions.assumeTrue(Files.isWritable(sockets) || (!Files.exists(sockets) && Proc.isRoot()),
                sockets + " is not writable (run as root)");
        ifname = "ltuapi" + Integer.toHexString(ThreadLocalRandom.current().nextInt() | 0x10000000);
        device = new FakeUapiDevice();
        server = UapiServer.start(ifname, device);
        privateKeyFile = secretFile("private.key", DEVICE_KEY.toBase64());
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) server.close();
        if (ifname != null) Files.deleteIfExists(UapiServer.socketPath(ifname));
    }

    Path secretFile(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(f, content + "\n");
        return f;
    }

    Proc.Result wg(String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "wg";
        System.arraycopy(args, 0, cmd, 1, args.length);
        return Proc.run(cmd);
    }

    @Test
    void wgSetConfiguresTheDeviceAndWgShowReadsItBack() {
        wg("set", ifname, "private-key", privateKeyFile.toString(), "listen-port", "51820",
                "peer", PEER.toBase64(), "allowed-ips", "10.0.0.0/24,fd00::/64", "endpoint", "127.0.0.1:1234",
                "persistent-keepalive", "25").ok();

        assertThat(device.applied).containsExactly(new UapiSet(new PrivateKeyChange.Replace(DEVICE_KEY), 51820, null,
                false, List.of(new PeerChange(PEER, false, false, null, Netip.parseAddrPort("127.0.0.1:1234"), 25,
                        true, List.of(new AllowedIpChange.Add(Netip.parsePrefix("10.0.0.0/24")),
                        new AllowedIpChange.Add(Netip.parsePrefix("fd00::/64")))))));

        assertThat(wg("show", ifname, "dump").ok().stdout()).isEqualTo(
                DEVICE_KEY.toBase64() + "\t" + DEVICE_KEY.publicKey().toBase64() + "\t51820\toff\n"
                        + PEER.toBase64() + "\t(none)\t127.0.0.1:1234\t10.0.0.0/24,fd00::/64\t0\t0\t0\t25\n");

        assertThat(wg("showconf", ifname).ok().stdout()).isEqualTo("""
                [Interface]
                ListenPort = 51820
                PrivateKey = %s

                [Peer]
                PublicKey = %s
                AllowedIPs = 10.0.0.0/24, fd00::/64
                Endpoint = 127.0.0.1:1234
                PersistentKeepalive = 25
                """.formatted(DEVICE_KEY.toBase64(), PEER.toBase64()));
    }

    @Test
    void wgShowAllListsOurSocketAmongTheInterfaces() {
        wg("set", ifname, "listen-port", "4000", "peer", PEER.toBase64(), "endpoint", "[::1]:5555").ok();
        assertThat(wg("show", "interfaces").ok().stdout().split("\\s+")).contains(ifname);
        List<String> ours = wg("show", "all", "dump").ok().stdout().lines()
                .filter(l -> l.startsWith(ifname + "\t")).toList();
        assertThat(ours).containsExactly(
                ifname + "\t(none)\t(none)\t4000\toff",
                ifname + "\t" + PEER.toBase64() + "\t(none)\t[::1]:5555\t(none)\t0\t0\t0\toff");
    }

    @Test
    void aLinkLocalEndpointKeepsItsInterface() {
        wg("set", ifname, "peer", PEER.toBase64(), "endpoint", "[fe80::1%lo]:51820").ok();
        assertThat(Netip.formatEndpoint(device.applied.getLast().peers().getFirst().endpoint()))
                .isEqualTo("[fe80::1%lo]:51820");
        assertThat(wg("show", ifname, "endpoints").ok().stdout())
                .isEqualTo(PEER.toBase64() + "\t[fe80::1%lo]:51820\n");
    }

    @Test
    void statisticsReachWgShow() {
        wg("set", ifname, "peer", PEER.toBase64()).ok();
        device.setStats(PEER, 1_700_000_123_000_000_000L, 1234, 5678);
        assertThat(wg("show", ifname, "latest-handshakes").ok().stdout())
                .isEqualTo(PEER.toBase64() + "\t1700000123\n");
        assertThat(wg("show", ifname, "transfer").ok().stdout()).isEqualTo(PEER.toBase64() + "\t1234\t5678\n");
    }

    @Test
    void presharedKeyFwmarkAndRemoval() throws IOException {
        PresharedKey psk = new PresharedKey(HexFormat.of().parseHex("42".repeat(32)));
        Path pskFile = secretFile("psk", Base64.getEncoder().encodeToString(psk.raw()));
        wg("set", ifname, "fwmark", "0x1234", "peer", PEER.toBase64(), "preshared-key", pskFile.toString(),
                "peer", PEER_2.toBase64()).ok();
        assertThat(device.applied.getLast().fwmark()).isEqualTo(0x1234);
        assertThat(device.applied.getLast().peers().getFirst().presharedKey()).isEqualTo(psk);
        assertThat(wg("show", ifname, "preshared-keys").ok().stdout()).contains(
                PEER.toBase64() + "\t" + Base64.getEncoder().encodeToString(psk.raw()),
                PEER_2.toBase64() + "\t(none)");
        assertThat(wg("show", ifname, "fwmark").ok().stdout()).isEqualTo("0x1234\n");

        wg("set", ifname, "peer", PEER.toBase64(), "remove").ok();
        assertThat(device.applied.getLast().peers()).containsExactly(PeerChange.removal(PEER));
        assertThat(wg("show", ifname, "peers").ok().stdout()).isEqualTo(PEER_2.toBase64() + "\n");
    }

    @Test
    void anEmptyPrivateKeyFileClearsTheKey() {
        wg("set", ifname, "private-key", privateKeyFile.toString()).ok();
        wg("set", ifname, "private-key", "/dev/null").ok();
        assertThat(device.applied.getLast().privateKey()).isEqualTo(PrivateKeyChange.CLEAR);
        assertThat(wg("show", ifname, "private-key").ok().stdout()).isEqualTo("(none)\n");
    }

    @Test
    void setconfReplacesEverythingAndSyncconfSendsOnlyTheDifference() throws IOException {
        wg("set", ifname, "peer", PEER_2.toBase64(), "allowed-ips", "192.168.0.0/16").ok();
        Path conf = secretFile("wg.conf", """
                [Interface]
                PrivateKey = %s
                ListenPort = 51821

                [Peer]
                PublicKey = %s
                AllowedIPs = 10.1.0.0/16, ::ffff:10.2.0.0/112
                Endpoint = [2001:db8::1]:51820
                """.formatted(DEVICE_KEY.toBase64(), PEER.toBase64()));
        wg("setconf", ifname, conf.toString()).ok();
        UapiSet set = device.applied.getLast();
        assertThat(set.replacePeers()).isTrue();
        assertThat(set.peers()).singleElement().satisfies(p -> {
            assertThat(p.replaceAllowedIps()).isTrue();
            assertThat(p.allowedIps()).extracting(c -> Netip.format(c.prefix()))
                    .containsExactly("10.1.0.0/16", "::ffff:10.2.0.0/112");
        });
        assertThat(wg("show", ifname, "allowed-ips").ok().stdout())
                .isEqualTo(PEER.toBase64() + "\t10.1.0.0/16 ::ffff:10.2.0.0/112\n");

        Path conf2 = secretFile("wg2.conf", """
                [Interface]
                PrivateKey = %s
                ListenPort = 51821

                [Peer]
                PublicKey = %s
                AllowedIPs = 10.3.0.0/16
                """.formatted(DEVICE_KEY.toBase64(), PEER_2.toBase64()));
        wg("syncconf", ifname, conf2.toString()).ok();
        UapiSet sync = device.applied.getLast();
        assertThat(sync.replacePeers()).as("syncconf diffs instead of replacing").isFalse();
        assertThat(sync.peers()).extracting(PeerChange::publicKey, PeerChange::remove)
                .contains(org.assertj.core.groups.Tuple.tuple(PEER, true));
        assertThat(wg("show", ifname, "dump").ok().stdout().lines().skip(1))
                .containsExactly(PEER_2.toBase64() + "\t(none)\t(none)\t10.3.0.0/16\t0\t0\t0\toff");
    }

    @Test
    void theDevicesErrorReachesWgAsErrno() {
        device.failWith(new UapiException(UapiError.PORT_IN_USE, "taken"));
        Proc.Result r = wg("set", ifname, "listen-port", "1");
        assertThat(r.exit()).isNotZero();
        assertThat(r.stderr()).contains("Address already in use");
    }

    @Test
    void wgShowOfAStoppedServerFails() {
        server.close();
        assertThat(UapiServer.socketPath(ifname)).doesNotExist();
        assertThat(wg("show", ifname).exit()).isNotZero();
    }
}
