package dev.lattice.wire.tailcfg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.core.JacksonException;

class TailcfgTest {
    static final NodePublicKey NK = NodePublicKey.fromHex("01".repeat(32));
    static final MachinePublicKey MK = MachinePublicKey.fromHex("02".repeat(32));
    static final DiscoPublicKey DK = DiscoPublicKey.fromHex("03".repeat(32));

    static String write(Object o) {
        return Tailcfg.json().writeValueAsString(o);
    }

    @Test
    void nodeIsWrittenWithGoNamesTextKeysAndNoNulls() {
        Node n = Node.builder()
                .id(7L).stableId("n7").name("a.example.ts.net.").user(3L)
                .key(NK).machine(MK).discoKey(DK)
                .addresses(List.of(IpPrefix.parse("100.64.0.7/32"), IpPrefix.parse("fd7a:115c:a1e0::7/128")))
                .allowedIps(List.of())
                .endpoints(List.of(AddrPort.parse("192.0.2.1:41641"), AddrPort.parse("[2001:db8::1]:41641")))
                .homeDerpRegion(900)
                .keyExpiry(Tailcfg.ZERO_TIME)
                .created(Instant.parse("2026-11-23T10:00:00.120Z"))
                .machineAuthorized(true)
                .build();
        assertThat(write(n)).isEqualTo("{\"ID\":7,\"StableID\":\"n7\",\"Name\":\"a.example.ts.net.\",\"User\":3,"
                + "\"Key\":\"nodekey:" + "01".repeat(32) + "\",\"KeyExpiry\":\"0001-01-01T00:00:00Z\","
                + "\"Machine\":\"mkey:" + "02".repeat(32) + "\",\"DiscoKey\":\"discokey:" + "03".repeat(32) + "\","
                + "\"Addresses\":[\"100.64.0.7/32\",\"fd7a:115c:a1e0::7/128\"],\"AllowedIPs\":[],"
                + "\"Endpoints\":[\"192.0.2.1:41641\",\"[2001:db8::1]:41641\"],"
                + "\"DERP\":\"127.3.3.40:900\",\"HomeDERP\":900,\"Created\":\"2026-11-23T10:00:00.12Z\","
                + "\"MachineAuthorized\":true}");
        Node back = Tailcfg.json().readValue(write(n), Node.class);
        assertThat(back).isEqualTo(n);
        assertThat(back.derpRegion()).isEqualTo(900);
    }

    @Test
    void readsCaseInsensitivelyAndIgnoresUnknownFields() {
        Node n = Tailcfg.json().readValue("{\"id\":5,\"HOMEDERP\":2,\"SomethingNew\":{\"x\":[1]}}", Node.class);
        assertThat(n.id()).isEqualTo(5L);
        assertThat(n.homeDerp()).isEqualTo(2);
    }

    @Test
    void timesFollowGoRfc3339() {
        assertThat(Tailcfg.formatTime(Instant.parse("2026-11-23T10:00:00.123456789Z"))).isEqualTo("2026-11-23T10:00:00.123456789Z");
        assertThat(Tailcfg.formatTime(Instant.parse("2026-11-23T10:00:00.100Z"))).isEqualTo("2026-11-23T10:00:00.1Z");
        assertThat(Tailcfg.formatTime(Instant.parse("2026-11-23T10:00:00Z"))).isEqualTo("2026-11-23T10:00:00Z");
        assertThat(Tailcfg.formatTime(Tailcfg.ZERO_TIME)).isEqualTo("0001-01-01T00:00:00Z");
        assertThat(Tailcfg.parseTime("0001-01-01T00:00:00Z")).isEqualTo(Tailcfg.ZERO_TIME);
        assertThat(Tailcfg.parseTime("2026-11-23T12:00:00.5+02:00")).isEqualTo(Instant.parse("2026-11-23T10:00:00.5Z"));
        assertThat(Tailcfg.parseTime("1970-01-01T00:02:03Z")).isEqualTo(Instant.ofEpochSecond(123));
        for (String bad : List.of("2026-11-23T10:00Z", "2026-11-23 10:00:00Z", "26-11-23T10:00:00Z", "2026-11-23T10:00:00",
                "2026-02-30T10:00:00Z", "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00.1234567890Z", "")) {
            assertThatThrownBy(() -> Tailcfg.parseTime(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> Tailcfg.formatTime(Instant.parse("+10000-01-01T00:00:00Z")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void formattedTimesMatchTheFormatterForAnyInstantOfYears0To9999() {
        java.util.Random rnd = new java.util.Random(7);
        long min = Instant.parse("0000-01-01T00:00:00Z").getEpochSecond(), max = Instant.parse("9999-12-31T23:59:59Z").getEpochSecond();
        for (int i = 0; i < 20_000; i++) {
            long secs = min + Math.floorMod(rnd.nextLong(), max - min + 1);
            // Whole seconds, round fractions and arbitrary nanos alike.
            int nanos = switch (i % 4) {
                case 0 -> 0;
                case 1 -> rnd.nextInt(1000) * 1_000_000;
                case 2 -> rnd.nextInt(10) * 100_000_000;
                default -> rnd.nextInt(1_000_000_000);
            };
            Instant t = Instant.ofEpochSecond(secs, nanos);
            assertThat(Tailcfg.formatTime(t)).as(t.toString()).isEqualTo(Tailcfg.RFC3339_FORMAT.format(t.atOffset(java.time.ZoneOffset.UTC)));
        }
        assertThatThrownBy(() -> Tailcfg.formatTime(Instant.parse("-0001-12-31T23:59:59Z"))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void badValuesAreJacksonExceptions() {
        for (String bad : List.of("{\"Key\":\"nodekey:12\"}", "{\"Key\":5}", "{\"Addresses\":[\"1.2.3.4\"]}",
                "{\"Addresses\":[\"example.com/32\"]}", "{\"Created\":\"yesterday\"}", "{\"ID\":1.5}",
                "{\"Endpoints\":[\"::1:5\"]}", "{\"Hostinfo\":{\"Hostname\":5}}", "{\"Hostinfo\":[]}",
                "{\"Hostinfo\":{\"RoutableIPs\":[\"x\"]}}", "{\"Hostinfo\":{\"NetInfo\":{\"PreferredDERP\":\"1\"}}}")) {
            assertThatThrownBy(() -> Tailcfg.json().readValue(bad, Node.class)).as(bad).isInstanceOf(JacksonException.class);
        }
    }

    @Test
    void hostinfoKeepsUnknownFieldsAndTypesKnownOnes() {
        String in = "{\"Hostname\":\"h\",\"OS\":\"linux\",\"RoutableIPs\":[\"10.0.0.0/8\"],\"RequestTags\":[\"tag:a\"],"
                + "\"sshHostKeys\":[\"ssh-ed25519 AAAA\"],\"NetInfo\":{\"PreferredDERP\":901,\"DERPLatency\":{\"901-v4\":0.01},"
                + "\"Future\":true},\"Services\":[{\"Proto\":\"peerapi4\",\"Port\":1234}],\"FutureField\":{\"a\":[1,2]}}";
        Hostinfo h = Tailcfg.json().readValue(in, Hostinfo.class);
        assertThat(h.hostname()).isEqualTo("h");
        assertThat(h.routableIps()).containsExactly(IpPrefix.parse("10.0.0.0/8"));
        assertThat(h.requestTags()).containsExactly("tag:a");
        assertThat(h.sshHostKeys()).containsExactly("ssh-ed25519 AAAA");
        assertThat(h.netInfo().preferredDerp()).isEqualTo(901);
        assertThat(h.netInfo().derpLatency()).isEqualTo(Map.of("901-v4", 0.01));
        assertThat(h.services()).containsExactly(new Service("peerapi4", 1234, null));
        assertThat(write(h)).isEqualTo(in);
        Hostinfo h2 = h.withHostname("other").withNetInfo(h.netInfo().withPreferredDerp(2));
        assertThat(h2.hostname()).isEqualTo("other");
        assertThat(h2.netInfo().preferredDerp()).isEqualTo(2);
        assertThat(h2.get("FutureField")).isEqualTo(h.get("FutureField"));
        assertThat(h.hostname()).isEqualTo("h");
    }

    @Test
    void hostinfosCompareByContentWithOrWithoutNetInfo() {
        Hostinfo h = Tailcfg.json().readValue("{\"Hostname\":\"h\",\"NetInfo\":{\"PreferredDERP\":1},\"Future\":[1]}",
                Hostinfo.class);
        Hostinfo same = Tailcfg.json().readValue("{\"Future\":[1],\"NetInfo\":{\"PreferredDERP\":1},\"Hostname\":\"h\"}",
                Hostinfo.class);
        Hostinfo otherDerp = h.withNetInfo(h.netInfo().withPreferredDerp(2));
        assertThat(same).isEqualTo(h).hasSameHashCodeAs(h);
        assertThat(otherDerp).isNotEqualTo(h);
        assertThat(otherDerp.hashCode()).as("computed for the copy, not carried over").isNotEqualTo(h.hashCode());
        assertThat(otherDerp.equalsIgnoringNetInfo(h)).isTrue();
        assertThat(h.with("NetInfo", null).equalsIgnoringNetInfo(h)).as("absent and present NetInfo").isTrue();
        // A NetInfo spelled otherwise is still NetInfo (Go matches field names case-insensitively).
        Hostinfo lower = Tailcfg.json().readValue("{\"Hostname\":\"h\",\"netinfo\":{\"PreferredDERP\":3},\"Future\":[1]}",
                Hostinfo.class);
        assertThat(lower.equalsIgnoringNetInfo(h)).isTrue();
        assertThat(h.withHostname("x").equalsIgnoringNetInfo(h)).isFalse();
        assertThat(h.with("Future", List.of(2)).equalsIgnoringNetInfo(h)).as("an unknown field counts").isFalse();
        assertThat(h.with("Extra", true).equalsIgnoringNetInfo(h)).as("an added field").isFalse();
        assertThat(h.equalsIgnoringNetInfo(h.with("Extra", true))).as("a removed field").isFalse();
        assertThat(h.equalsIgnoringNetInfo(null)).isFalse();
    }

    @Test
    void mapResponseOmitsNullsButKeepsNullMapValues() {
        Map<String, List<FilterRule>> filters = new java.util.LinkedHashMap<>();
        filters.put("*", null);
        filters.put("base", List.of(new FilterRule(List.of("*"), null,
                List.of(new NetPortRange("*", null, PortRange.ANY)), null, null)));
        MapResponse r = MapResponse.builder().keepAlive(true).packetFilters(filters).peersRemoved(List.of(4L))
                .peerSeenChange(Map.of(9L, true)).build();
        assertThat(write(r)).isEqualTo("{\"KeepAlive\":true,\"PeersRemoved\":[4],\"PeerSeenChange\":{\"9\":true},"
                + "\"PacketFilters\":{\"*\":null,\"base\":[{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"IP\":\"*\",\"Ports\":{\"First\":0,\"Last\":65535}}]}]}}");
        assertThat(Tailcfg.json().readValue(write(r), MapResponse.class).peerSeenChange()).isEqualTo(Map.of(9L, true));
    }
}
