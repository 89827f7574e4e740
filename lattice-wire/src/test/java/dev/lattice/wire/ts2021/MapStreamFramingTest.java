package dev.lattice.wire.ts2021;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Map messages on the wire: a little-endian length, then the body, zstd-compressed when the client asked. */
class MapStreamFramingTest {
    @Test
    void aCompressedMessageComesBackWhole() throws Exception {
        StringBuilder json = new StringBuilder("{\"Peers\":[");
        for (int i = 0; i < 2000; i++) json.append("{\"ID\":").append(i).append(",\"Name\":\"node-").append(i).append(".ts.net.\"},");
        byte[] in = json.append("{}]}").toString().getBytes(StandardCharsets.UTF_8);
        byte[] framed = MapStreamFraming.frame(in, true);
        int len = MapStreamFraming.length(framed, 0);
        assertThat(len).isEqualTo(framed.length - 4).isLessThan(in.length / 4);
        assertThat(MapStreamFraming.decompress(Arrays.copyOfRange(framed, 4, framed.length))).isEqualTo(in);
    }

    @Test
    void aBrokenFrameIsAProtocolError() {
        byte[] body = MapStreamFraming.compress("{\"KeepAlive\":true}".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> MapStreamFraming.decompress(Arrays.copyOf(body, body.length - 3)))
                .isInstanceOf(ControlProtocolException.class);
        assertThatThrownBy(() -> MapStreamFraming.decompress("not zstd at all".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ControlProtocolException.class);
    }
}
