package dev.lattice.control.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.event.KeyValuePair;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code log.format: json}: one JSON object per line, with the field names Headscale's zerolog writes ({@code time},
 * {@code level} in lower case, {@code message}, {@code error}) plus {@code logger} and {@code thread}, then the
 * event's structured fields (SLF4J key-value pairs, then MDC entries). A throwable adds {@code error} (its one-line
 * description) and {@code stack}. Field names that would shadow those are prefixed with {@code field_}.
 */
public final class JsonLogEncoder extends EncoderBase<ILoggingEvent> {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").withZone(ZoneOffset.UTC);
    private static final Set<String> RESERVED = Set.of("time", "level", "logger", "thread", "message", "error", "stack");

    @Override
    public byte[] headerBytes() {
        return null;
    }

    @Override
    public byte[] footerBytes() {
        return null;
    }

    @Override
    public byte[] encode(ILoggingEvent e) {
        ObjectNode o = F.objectNode();
        o.put("time", TIME.format(e.getInstant()));
        o.put("level", level(e.getLevel()));
        o.put("logger", e.getLoggerName());
        o.put("thread", e.getThreadName());
        o.put("message", e.getFormattedMessage());
        if (e.getKeyValuePairs() != null) {
            for (KeyValuePair kv : e.getKeyValuePairs()) put(o, kv.key, kv.value);
        }
        Map<String, String> mdc = e.getMDCPropertyMap();
        if (mdc != null) mdc.forEach((k, v) -> put(o, k, v));
        IThrowableProxy t = e.getThrowableProxy();
        if (t != null) {
            o.put("error", t.getClassName() + (t.getMessage() == null ? "" : ": " + t.getMessage()));
            o.put("stack", ThrowableProxyUtil.asString(t));
        }
        byte[] json = JSON.writeValueAsBytes(o);
        byte[] line = new byte[json.length + 1];
        System.arraycopy(json, 0, line, 0, json.length);
        line[json.length] = '\n';
        return line;
    }

    private static void put(ObjectNode o, String key, Object value) {
        String k = key == null || key.isEmpty() ? "field" : RESERVED.contains(key) ? "field_" + key : key;
        switch (value) {
            case null -> o.putNull(k);
            case Integer i -> o.put(k, i);
            case Long l -> o.put(k, l);
            case Short s -> o.put(k, s);
            case Double d -> o.put(k, d);
            case Float f -> o.put(k, f);
            case Boolean b -> o.put(k, b);
            default -> o.put(k, String.valueOf(value));
        }
    }

    /** zerolog's level names. */
    static String level(Level l) {
        return switch (l.toInt()) {
            case Level.WARN_INT -> "warn";
            default -> l.toString().toLowerCase(Locale.ROOT);
        };
    }
}
