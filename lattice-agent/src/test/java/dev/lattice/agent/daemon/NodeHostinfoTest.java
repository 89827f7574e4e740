package dev.lattice.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lattice.agent.serve.ServeConfig;
import dev.lattice.agent.state.Prefs;
import dev.lattice.wire.tailcfg.Hostinfo;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Hostinfo's Funnel fields follow the serve config as tailscale's: IngressEnabled when on, WireIngress when only named. */
class NodeHostinfoTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "no serve config        | null                                                              | false | false",
        "serve without Funnel   | {\"TCP\":{\"443\":{\"HTTPS\":true}}}                              | false | false",
        "Funnel on              | {\"TCP\":{\"443\":{\"HTTPS\":true}},\"AllowFunnel\":{\"a:443\":true}}  | true  | false",
        "Funnel named, off      | {\"TCP\":{\"443\":{\"HTTPS\":true}},\"AllowFunnel\":{\"a:443\":false}} | false | true",
    })
    void funnelFields(String name, String serve, boolean ingressEnabled, boolean wireIngress) {
        ServeConfig c = ServeConfig.parse(serve.getBytes(StandardCharsets.UTF_8));
        Hostinfo h = NodeHostinfo.build("1.0", Prefs.defaults(), "host", List.of(), c);
        assertThat(h.ingressEnabled()).isEqualTo(ingressEnabled);
        assertThat(h.wireIngress()).isEqualTo(wireIngress);
        // omitted, not false, when off (Go's omitzero)
        String json = dev.lattice.wire.tailcfg.Tailcfg.json().writeValueAsString(h);
        assertThat(json.contains("IngressEnabled")).isEqualTo(ingressEnabled);
        assertThat(json.contains("WireIngress")).isEqualTo(wireIngress);
    }
}
