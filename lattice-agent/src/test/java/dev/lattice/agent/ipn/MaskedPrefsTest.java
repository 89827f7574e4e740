package dev.lattice.agent.ipn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.agent.state.Prefs;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** tailscale's MaskedPrefs on the wire: only fields with their Set flag change; unknown Set flags are refused. */
class MaskedPrefsTest {
    static MaskedPrefs parse(String json) {
        return MaskedPrefs.fromJson(JsonMapper.shared().readTree(json));
    }

    @Test
    void onlyFieldsWithTheirSetFlagChange() {
        // What tailscale's CLI sends for `tailscale set --accept-routes --advertise-routes=10.0.0.0/8`: every Prefs field.
        MaskedPrefs mp = parse("""
                {"ControlURL":"","RouteAll":true,"ExitNodeID":"","ExitNodeIP":"","CorpDNS":true,"RunSSH":false,
                 "WantRunning":false,"ShieldsUp":false,"AdvertiseRoutes":["10.0.0.0/8"],"NoSNAT":false,
                 "RouteAllSet":true,"AdvertiseRoutesSet":true,"AutoUpdateSet":{}}""");
        assertThat(mp).isEqualTo(MaskedPrefs.NONE.withAcceptRoutes(true).withAdvertiseRoutes(List.of("10.0.0.0/8")));
        Prefs p = mp.applyTo(Prefs.defaults().withShieldsUp(true));
        assertThat(p.acceptRoutes()).isTrue();
        assertThat(p.shieldsUp()).as("not in the mask: kept").isTrue();
        assertThat(p.advertiseRoutes()).containsExactly("10.0.0.0/8");
    }

    @Test
    void roundTripsThroughTailscalesJson() {
        MaskedPrefs mp = MaskedPrefs.NONE.withAcceptDns(false).withHostname("box").withExitNodeIp("100.64.0.5")
                .withExitNodeAllowLanAccess(true).withShieldsUp(true).withNoSnat(true).withAdvertiseRoutes(List.of());
        String json = mp.toJson().toString();
        assertThat(json).contains("\"ExitNodeIDSet\":true", "\"ExitNodeIPSet\":true", "\"CorpDNS\":false", "\"NoSNATSet\":true")
                .doesNotContain("RouteAll");
        assertThat(parse(json)).isEqualTo(mp);
    }

    @Test
    void setFlagsForPrefsLatticedDoesNotChangeThisWayAreRefusedByName() {
        assertThatThrownBy(() -> parse("{\"RunSSH\":true,\"RunSSHSet\":true}")).hasMessage("latticed has no pref RunSSH (it cannot be set)");
        assertThatThrownBy(() -> parse("{\"AutoUpdateSet\":{\"CheckSet\":true}}")).hasMessageContaining("AutoUpdate");
        assertThatThrownBy(() -> parse("{\"WantRunningSet\":true}")).hasMessage("latticed changes WantRunning only with lattice up or lattice down");
        assertThatThrownBy(() -> parse("{\"RouteAll\":\"yes\",\"RouteAllSet\":true}")).hasMessage("RouteAll: want true or false");
        assertThatThrownBy(() -> parse("[]")).hasMessage("want a JSON object of prefs");
        assertThat(parse("{\"RunSSHSet\":false}")).isEqualTo(MaskedPrefs.NONE);
    }

    @Test
    void anExitNodeByAddressReplacesOneByIdAndEmptyClearsBoth() {
        Prefs byId = Prefs.defaults().withExitNode("nABC", null);
        Prefs byIp = MaskedPrefs.NONE.withExitNodeIp("100.64.0.5").applyTo(byId);
        assertThat(byIp.exitNodeId()).isNull();
        assertThat(byIp.exitNodeIp()).isEqualTo("100.64.0.5");
        Prefs none = MaskedPrefs.NONE.withExitNodeIp("").applyTo(byId);
        assertThat(none.usesExitNode()).isFalse();
        Prefs apiId = parse("{\"ExitNodeID\":\"nXYZ\",\"ExitNodeIDSet\":true}").applyTo(byIp);
        assertThat(apiId.exitNodeId()).isEqualTo("nXYZ");
        assertThat(apiId.exitNodeIp()).isNull();
    }
}
