package dev.lattice.wire.ts2021;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.key.MachinePrivateKey;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ControlHandshakeTest {
    private final MachinePrivateKey control = MachinePrivateKey.generate();
    private final MachinePrivateKey machine = MachinePrivateKey.generate();

    @Test
    void clientAndServerAgreeOnPeerVersionAndKeys() throws Exception {
        ControlHandshake.Client client = new ControlHandshake.Client(machine, control.publicKey(), 142);
        byte[] init = client.initiation();
        assertThat(init).hasSize(101);
        assertThat(init[0]).isEqualTo((byte) 0);
        assertThat(init[1]).isEqualTo((byte) 142);
        assertThat(init[2]).isEqualTo((byte) 1);

        ControlHandshake.Accepted accepted = ControlHandshake.accept(control, init);
        assertThat(accepted.response()).hasSize(51);
        assertThat(accepted.channel().peer()).isEqualTo(machine.publicKey());
        assertThat(accepted.channel().version()).isEqualTo(142);

        ControlHandshake.Established c = client.finish(accepted.response());
        assertThat(c.handshakeHash()).isEqualTo(accepted.channel().handshakeHash());

        byte[] rec = c.tx().sealRecord("hello".getBytes(StandardCharsets.UTF_8), 0, 5);
        assertThat(rec[0]).isEqualTo((byte) 4);
        byte[] ct = java.util.Arrays.copyOfRange(rec, 3, rec.length);
        assertThat(new String(accepted.channel().rx().openRecord(ct), StandardCharsets.UTF_8)).isEqualTo("hello");

        byte[] back = accepted.channel().tx().sealRecord(new byte[] {1, 2, 3}, 0, 3);
        assertThat(c.rx().openRecord(java.util.Arrays.copyOfRange(back, 3, back.length))).containsExactly(1, 2, 3);
    }

    @Test
    void versionIsBoundIntoThePrologue() {
        ControlHandshake.Client client = new ControlHandshake.Client(machine, control.publicKey(), 142);
        byte[] init = client.initiation();
        init[1] = (byte) 141; // a middlebox "downgrading" the version breaks authentication
        assertThatThrownBy(() -> ControlHandshake.accept(control, init)).isInstanceOf(ControlProtocolException.class)
                .hasMessageContaining("authentication");
    }

    @Test
    void wrongControlKeyFailsAuthentication() {
        ControlHandshake.Client client = new ControlHandshake.Client(machine, MachinePrivateKey.generate().publicKey(), 142);
        assertThatThrownBy(() -> ControlHandshake.accept(control, client.initiation()))
                .isInstanceOf(ControlProtocolException.class);
    }

    @Test
    void errorMessageReachesTheClient() {
        ControlHandshake.Client client = new ControlHandshake.Client(machine, control.publicKey(), 90);
        assertThatThrownBy(() -> client.finish(ControlMessages.error("unsupported client version")))
                .hasMessage("server error: unsupported client version");
    }

    @Test
    void replayedOrReorderedRecordsAreRejected() throws Exception {
        ControlHandshake.Client client = new ControlHandshake.Client(machine, control.publicKey(), 142);
        ControlHandshake.Accepted a = ControlHandshake.accept(control, client.initiation());
        ControlHandshake.Established c = client.finish(a.response());
        byte[] r1 = c.tx().sealRecord(new byte[] {1}, 0, 1);
        byte[] r2 = c.tx().sealRecord(new byte[] {2}, 0, 1);
        assertThatThrownBy(() -> a.channel().rx().openRecord(java.util.Arrays.copyOfRange(r2, 3, r2.length)))
                .isInstanceOf(ControlProtocolException.class);
        // a failed open does not advance the counter: r1 still opens
        assertThat(a.channel().rx().openRecord(java.util.Arrays.copyOfRange(r1, 3, r1.length))).containsExactly(1);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void garbageInitiationsGiveAProtocolExceptionOnly(long seed) {
        Random rnd = new Random(seed);
        byte[] good = new ControlHandshake.Client(machine, control.publicKey(), 142).initiation();
        for (int i = 0; i < 500; i++) {
            byte[] b = rnd.nextInt(4) == 0 ? new byte[rnd.nextInt(200)] : good.clone();
            if (b.length > 0) {
                for (int k = rnd.nextInt(4); k >= 0; k--) b[rnd.nextInt(b.length)] ^= (byte) (1 + rnd.nextInt(255));
            }
            final byte[] in = b;
            assertThatThrownBy(() -> ControlHandshake.accept(control, in)).isInstanceOf(ControlProtocolException.class);
        }
    }

    @Test
    void sealStreamSplitsAtTheMaximumRecordSize() throws Exception {
        ControlHandshake.Client client = new ControlHandshake.Client(machine, control.publicKey(), 142);
        ControlHandshake.Accepted a = ControlHandshake.accept(control, client.initiation());
        ControlHandshake.Established c = client.finish(a.response());
        byte[] big = new byte[ControlMessages.MAX_PLAINTEXT_LEN * 2 + 10];
        new Random(7).nextBytes(big);
        byte[] stream = c.tx().sealStream(big);
        java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        int off = 0, records = 0;
        while (off < stream.length) {
            int len = ControlMessages.u16(stream, off + 1);
            assertThat(off + 3 + len).isLessThanOrEqualTo(stream.length);
            assertThat(3 + len).isLessThanOrEqualTo(ControlMessages.MAX_MESSAGE_LEN);
            got.writeBytes(a.channel().rx().openRecord(java.util.Arrays.copyOfRange(stream, off + 3, off + 3 + len)));
            off += 3 + len;
            records++;
        }
        assertThat(records).isEqualTo(3);
        assertThat(got.toByteArray()).isEqualTo(big);
    }

    @Test
    void mapFramingRoundTripsWithAndWithoutZstd() throws Exception {
        byte[] json = "{\"KeepAlive\":true,\"Peers\":[]}".repeat(50).getBytes(StandardCharsets.UTF_8);
        for (boolean z : new boolean[] {false, true}) {
            byte[] f = MapStreamFraming.frame(json, z);
            int len = MapStreamFraming.length(f, 0);
            assertThat(len).isEqualTo(f.length - 4);
            byte[] body = java.util.Arrays.copyOfRange(f, 4, f.length);
            assertThat(z ? MapStreamFraming.decompress(body) : body).isEqualTo(json);
            if (z) assertThat(len).isLessThan(json.length);
        }
        assertThatThrownBy(() -> MapStreamFraming.length(new byte[] {0, 0, 0x50, 0}, 0)).isInstanceOf(ControlProtocolException.class);
        assertThatThrownBy(() -> MapStreamFraming.decompress(new byte[] {1, 2, 3, 4, 5, 6})).isInstanceOf(ControlProtocolException.class);
    }

    @Test
    void earlyPayloadHeader() throws Exception {
        byte[] e = EarlyPayload.encode("{\"nodeKeyChallenge\":\"chalpub:00\"}");
        assertThat(EarlyPayload.startsWithMagic(e)).isTrue();
        assertThat(EarlyPayload.jsonLength(e)).isEqualTo(e.length - 9);
    }
}
