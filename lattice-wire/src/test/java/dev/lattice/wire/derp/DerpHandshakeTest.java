package dev.lattice.wire.derp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.NaclBox;
import dev.lattice.crypto.key.NodePrivateKey;
import dev.lattice.crypto.key.NodePublicKey;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DerpHandshakeTest {
    private final NodePrivateKey client = new NodePrivateKey(GoVectors.CLIENT_PRIVATE);
    private final NodePrivateKey server = new NodePrivateKey(GoVectors.SERVER_PRIVATE);

    @Test
    void serverKeyFrameIsByteForByteGos() {
        assertThat(server.publicKey().toHex()).isEqualTo(GoVectors.SERVER_PUBLIC);
        assertThat(new DerpFrame.ServerKey(server.publicKey()).encode()).isEqualTo(GoVectors.SERVER_KEY_FRAME);
        byte[] f = GoVectors.SERVER_KEY_FRAME;
        assertThat(DerpFrame.decode(f[0], f, 5, f.length - 5)).isEqualTo(new DerpFrame.ServerKey(server.publicKey()));
    }

    @Test
    void opensGosClientInfoAndReadsItsFields() {
        byte[] f = GoVectors.CLIENT_INFO_FRAME;
        assertThat(Derp.getU32(f, 1)).isEqualTo(f.length - 5);
        var frame = (DerpFrame.ClientInfoFrame) DerpFrame.decode(f[0], f, 5, f.length - 5);
        assertThat(frame.clientKey().toHex()).isEqualTo(GoVectors.CLIENT_PUBLIC);
        ClientInfo info = ClientInfo.open(frame.sealed(), frame.clientKey(), server);
        assertThat(info.version()).isEqualTo(2);
        assertThat(info.canAckPings()).isTrue();
        assertThat(info.meshKey()).isEqualTo(MeshKey.parse(GoVectors.MESH_KEY));
    }

    @Test
    void ourClientInfoJsonIsTheJsonGoSent() throws Exception {
        byte[] f = GoVectors.CLIENT_INFO_FRAME;
        byte[] sealed = Arrays.copyOfRange(f, 5 + 32, f.length);
        byte[] goJson = NaclBox.open(Arrays.copyOfRange(sealed, 24, sealed.length), Arrays.copyOf(sealed, 24),
                client.publicKey().raw(), server.raw());
        byte[] ours = BoxedJson.JSON.writeValueAsBytes(ClientInfo.of(MeshKey.parse(GoVectors.MESH_KEY), true));
        assertThat(new String(ours, StandardCharsets.UTF_8)).isEqualTo(new String(goJson, StandardCharsets.UTF_8));
        assertThat(new String(BoxedJson.JSON.writeValueAsBytes(ClientInfo.of(null, false)), StandardCharsets.UTF_8))
                .isEqualTo("{\"version\":2,\"CanAckPings\":false}");
    }

    @Test
    void opensGosServerInfo() {
        ServerInfo si = ServerInfo.open(GoVectors.SERVER_INFO_PAYLOAD, server.publicKey(), client);
        assertThat(si).isEqualTo(ServerInfo.current());
        assertThat(new String(BoxedJson.JSON.writeValueAsBytes(ServerInfo.current()), StandardCharsets.UTF_8))
                .isEqualTo("{\"version\":2}");
    }

    @Test
    void sealedInfoRoundTripsAndOnlyOpensWithTheRightKeys() {
        ClientInfo info = new ClientInfo(null, 2, true, true, "lattice");
        byte[] sealed = info.seal(server.publicKey(), client);
        assertThat(ClientInfo.open(sealed, client.publicKey(), server)).isEqualTo(info);
        NodePublicKey stranger = NodePrivateKey.generate().publicKey();
        assertThatThrownBy(() -> ClientInfo.open(sealed, stranger, server))
                .isInstanceOf(DerpProtocolException.class).hasMessageContaining("does not open");
        sealed[sealed.length - 1] ^= 1;
        assertThatThrownBy(() -> ClientInfo.open(sealed, client.publicKey(), server)).isInstanceOf(DerpProtocolException.class);
    }

    @Test
    void jsonFieldNamesMatchCaseInsensitivelyLikeGo() {
        String json = "{\"Version\":5,\"MeshKey\":\"" + GoVectors.MESH_KEY + "\",\"canackpings\":true,\"Extra\":[1]}";
        byte[] sealed = sealRaw(json);
        ClientInfo info = ClientInfo.open(sealed, client.publicKey(), server);
        assertThat(info.version()).isEqualTo(5);
        assertThat(info.canAckPings()).isTrue();
        assertThat(info.meshKey()).isEqualTo(MeshKey.parse(GoVectors.MESH_KEY));
        assertThat(ClientInfo.open(sealRaw("{}"), client.publicKey(), server)).isEqualTo(new ClientInfo(null, 0, false, false, null));
        assertThat(ClientInfo.open(sealRaw("{\"meshKey\":\"abcdefg\"}"), client.publicKey(), server).meshKey()).isNull();
    }

    @Test
    void garbageInsideTheBoxIsAProtocolError() {
        for (String bad : new String[] {"", "null", "[", "{\"version\":\"x\"}", "\u0000\u0001"}) {
            assertThatThrownBy(() -> ClientInfo.open(sealRaw(bad), client.publicKey(), server))
                    .as(bad).isInstanceOf(DerpProtocolException.class);
        }
        assertThatThrownBy(() -> ClientInfo.open(new byte[10], client.publicKey(), server))
                .isInstanceOf(DerpProtocolException.class).hasMessageContaining("too short");
    }

    @Test
    void meshKeysParseStrictlyCompareByValueAndNeverPrint() {
        MeshKey k = MeshKey.parse(" " + GoVectors.MESH_KEY + "\n");
        assertThat(k).isEqualTo(MeshKey.fromRaw(GoVectors.hex(GoVectors.MESH_KEY)));
        assertThat(k.toString()).doesNotContain(GoVectors.MESH_KEY.substring(0, 8));
        assertThat(k.toHex()).isEqualTo(GoVectors.MESH_KEY);
        assertThatThrownBy(() -> MeshKey.parse("abcdefg")).hasMessageContaining("64-digit");
        assertThatThrownBy(() -> MeshKey.parse("z".repeat(64))).hasMessageContaining("hex");
    }

    private byte[] sealRaw(String json) {
        byte[] nonce = new byte[24];
        byte[] box = NaclBox.seal(json.getBytes(StandardCharsets.UTF_8), nonce, server.publicKey().raw(), client.raw());
        byte[] out = Arrays.copyOf(nonce, 24 + box.length);
        System.arraycopy(box, 0, out, 24, box.length);
        return out;
    }
}
