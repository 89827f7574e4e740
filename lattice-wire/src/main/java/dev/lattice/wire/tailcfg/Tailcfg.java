package dev.lattice.wire.tailcfg;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.PropertyAccessor;
import dev.lattice.crypto.key.ChallengePublicKey;
import dev.lattice.crypto.key.DiscoPublicKey;
import dev.lattice.crypto.key.MachinePublicKey;
import dev.lattice.crypto.key.NodePublicKey;
import dev.lattice.wire.ip.IpPrefix;
import java.net.InetAddress;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.ResolverStyle;
import java.time.temporal.ChronoField;
import java.util.function.Function;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.SerializationContext;
import tools.jackson.databind.ValueDeserializer;
import tools.jackson.databind.ValueSerializer;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.module.SimpleModule;

/**
 * The JSON mapping of Tailscale's control protocol bodies, configured to read and write what Go's
 * {@code encoding/json} does for {@code tailcfg}:
 * <ul>
 *   <li>null components are not written ({@code Include.NON_NULL}): in a MapResponse null means "unchanged",
 *       and Go decodes an absent field and {@code null} the same way. Null values inside maps are kept,
 *       since there they mean "delete this key" (PacketFilters, DNSConfig.Routes);</li>
 *   <li>unknown properties are ignored (clients are newer than us) and names match case-insensitively, as in Go;</li>
 *   <li>keys in their text forms ({@code nodekey:}, {@code mkey:}, {@code discokey:}, {@code chalpub:} + hex);</li>
 *   <li>{@link IpPrefix} as {@code "100.64.0.1/32"}, {@link InetAddress} as a literal (never a DNS lookup),
 *       {@code []byte} as standard padded base64;</li>
 *   <li>{@link Instant} as Go's {@code time.Time}: RFC 3339 with the fraction trimmed of trailing zeros
 *       ({@code 2026-11-23T10:00:00.1234Z}, {@code 2026-11-23T10:00:00Z}); offsets other than Z are accepted.</li>
 * </ul>
 * Every decoding failure is a {@link tools.jackson.core.JacksonException}.
 */
public final class Tailcfg {

    /**
     * Go's zero {@code time.Time}, {@code 0001-01-01T00:00:00Z}. It decodes to this Instant (not to null) and
     * encodes back to the same text, so a non-pointer Go time field keeps its value both ways. Use
     * {@link #isZero(Instant)} to test for "no time" whether the field was absent or zero.
     */
    public static final Instant ZERO_TIME = Instant.parse("0001-01-01T00:00:00Z");

    /** The "IP" of a DERP region in legacy {@code Node.DERP} strings, {@code 127.3.3.40:<region>}. */
    public static final String DERP_MAGIC_IP = "127.3.3.40";

    private static final DateTimeFormatter RFC3339_PARSE = rfc3339(1);
    // Minimum width 0: no fraction at all when it is zero, otherwise trailing zeros trimmed, as Go writes. The
    // reference for formatTime, which does the same by hand.
    static final DateTimeFormatter RFC3339_FORMAT = rfc3339(0);

    private static DateTimeFormatter rfc3339(int minFraction) {
        DateTimeFormatterBuilder b = new DateTimeFormatterBuilder()
                .appendValue(ChronoField.YEAR, 4)
                .appendLiteral('-')
                .appendValue(ChronoField.MONTH_OF_YEAR, 2)
                .appendLiteral('-')
                .appendValue(ChronoField.DAY_OF_MONTH, 2)
                .appendLiteral('T')
                .appendValue(ChronoField.HOUR_OF_DAY, 2)
                .appendLiteral(':')
                .appendValue(ChronoField.MINUTE_OF_HOUR, 2)
                .appendLiteral(':')
                .appendValue(ChronoField.SECOND_OF_MINUTE, 2);
        if (minFraction > 0) b.optionalStart();
        b.appendFraction(ChronoField.NANO_OF_SECOND, minFraction, 9, true);
        if (minFraction > 0) b.optionalEnd();
        return b.appendOffset("+HH:MM", "Z")
                .toFormatter()
                .withResolverStyle(ResolverStyle.STRICT)
                .withChronology(java.time.chrono.IsoChronology.INSTANCE);
    }

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .addModule(module())
            .changeDefaultPropertyInclusion(incl -> incl.withValueInclusion(JsonInclude.Include.NON_NULL))
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            // Go refuses 1.5 for an int field; Jackson would truncate it.
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            // The default, made explicit: checks in record/Hostinfo constructors surface as JacksonExceptions.
            .enable(DeserializationFeature.WRAP_EXCEPTIONS)
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
            // Keep Go's field order on the wire (Jackson 3 sorts alphabetically by default).
            .disable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            // Only annotated record components are properties; helper methods like Node.isTagged() are not.
            .changeDefaultVisibility(v -> v
                    .withVisibility(PropertyAccessor.GETTER, JsonAutoDetect.Visibility.NONE)
                    .withVisibility(PropertyAccessor.IS_GETTER, JsonAutoDetect.Visibility.NONE))
            .build();

    private Tailcfg() {}

    /** The shared, thread-safe mapper for all tailcfg types. */
    public static JsonMapper json() {
        return MAPPER;
    }

    /** True for null or Go's zero time. */
    public static boolean isZero(Instant t) {
        return t == null || t.equals(ZERO_TIME);
    }

    /** Formats like Go's {@code time.Time.MarshalJSON} (without the quotes), always in UTC. */
    public static String formatTime(Instant t) {
        // By hand, not with a DateTimeFormatter: a full map formats two or three times per peer, and the formatter was a
        // tenth of its cost. Checked against the formatter (TailcfgTest).
        long secs = t.getEpochSecond();
        java.time.LocalDate d = java.time.LocalDate.ofEpochDay(Math.floorDiv(secs, 86_400));
        int sod = (int) Math.floorMod(secs, 86_400);
        // Go refuses to marshal years outside 0..9999.
        if (d.getYear() < 0 || d.getYear() > 9999) {
            throw new IllegalArgumentException("year outside 0..9999: " + d.getYear());
        }
        StringBuilder b = new StringBuilder(30);
        digits(b, d.getYear(), 4).append('-');
        digits(b, d.getMonthValue(), 2).append('-');
        digits(b, d.getDayOfMonth(), 2).append('T');
        digits(b, sod / 3600, 2).append(':');
        digits(b, sod / 60 % 60, 2).append(':');
        digits(b, sod % 60, 2);
        int nanos = t.getNano();
        if (nanos != 0) {
            int width = 9;
            while (nanos % 10 == 0) {
                nanos /= 10;
                width--;
            }
            digits(b.append('.'), nanos, width);
        }
        return b.append('Z').toString();
    }

    private static StringBuilder digits(StringBuilder b, int v, int width) {
        String s = Integer.toString(v);
        for (int i = s.length(); i < width; i++) b.append('0');
        return b.append(s);
    }

    /** Parses RFC 3339 as Go's {@code time.Time.UnmarshalJSON} does: seconds required, 1-9 fraction digits. */
    public static Instant parseTime(String text) {
        try {
            return OffsetDateTime.parse(text, RFC3339_PARSE).toInstant();
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("bad RFC 3339 time \"" + clip(text) + "\"");
        }
    }

    /** {@code 127.3.3.40:<region>}, the legacy Node.DERP form of a home region. */
    public static String legacyDerp(int regionId) {
        return DERP_MAGIC_IP + ":" + regionId;
    }

    static String clip(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "…";
    }

    private static SimpleModule module() {
        SimpleModule m = new SimpleModule("tailcfg");
        text(m, NodePublicKey.class, NodePublicKey::parse, NodePublicKey::toString);
        text(m, MachinePublicKey.class, MachinePublicKey::parse, MachinePublicKey::toString);
        text(m, DiscoPublicKey.class, DiscoPublicKey::parse, DiscoPublicKey::toString);
        text(m, ChallengePublicKey.class, ChallengePublicKey::parse, ChallengePublicKey::toString);
        text(m, IpPrefix.class, Tailcfg::parsePrefix, IpPrefix::toString);
        text(m, InetAddress.class, IpPrefix::parseAddress, IpPrefix::format);
        text(m, Instant.class, Tailcfg::parseTime, Tailcfg::formatTime);
        return m;
    }

    /** Registers a JSON-string codec for {@code type}; parse failures become Jackson exceptions. */
    private static <T> void text(SimpleModule m, Class<T> type, Function<String, T> parse, Function<T, String> format) {
        m.addSerializer(type, new ValueSerializer<T>() {
            @Override
            public void serialize(T value, JsonGenerator g, SerializationContext ctxt) {
                g.writeString(format.apply(value));
            }
        });
        m.addDeserializer(type, new ValueDeserializer<T>() {
            @Override
            public T deserialize(JsonParser p, DeserializationContext ctxt) {
                if (p.currentToken() != JsonToken.VALUE_STRING) {
                    return type.cast(ctxt.handleUnexpectedToken(type, p));
                }
                String s = p.getString();
                try {
                    return parse.apply(s);
                } catch (IllegalArgumentException e) {
                    return type.cast(ctxt.handleWeirdStringValue(type, clip(s), e.getMessage()));
                }
            }
        });
    }

    /** Go's netip.ParsePrefix: the "/bits" part is required and has no leading zero. */
    static IpPrefix parsePrefix(String s) {
        int slash = s.indexOf('/');
        if (slash < 0) throw new IllegalArgumentException("no '/' in prefix \"" + clip(s) + "\"");
        if (s.length() > slash + 2 && s.charAt(slash + 1) == '0') {
            throw new IllegalArgumentException("leading zero in prefix length \"" + clip(s) + "\"");
        }
        return IpPrefix.parse(s);
    }
}
