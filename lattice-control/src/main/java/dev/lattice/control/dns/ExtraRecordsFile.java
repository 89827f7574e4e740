package dev.lattice.control.dns;

import dev.lattice.wire.ip.IpPrefix;
import dev.lattice.wire.tailcfg.DNSRecord;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The {@code dns.extra_records_path} file format, as Headscale reads it ({@code hscontrol/dns/extrarecords.go}): a
 * JSON array of Tailscale {@code DNSRecord}s, {@code [{"name": "grafana.example.com", "type": "A", "value":
 * "100.64.0.3"}]}, keys matched without regard to case as Go's encoding/json does, other keys ignored. Records are
 * checked as {@code dns.extra_records} in the config is (a name; type A, AAAA or empty; an address of that family),
 * then de-duplicated and sorted so the same set always gives the same DNS config.
 */
public final class ExtraRecordsFile {
    private static final JsonMapper JSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
    private static final Comparator<DNSRecord> ORDER = Comparator.comparing(DNSRecord::name)
            .thenComparing(r -> r.type() == null ? "" : r.type()).thenComparing(DNSRecord::value);

    private ExtraRecordsFile() {}

    /**
     * The records in {@code content}; empty when the file says nothing: zero bytes (a writer caught half-way; the
     * next write brings the content) or JSON {@code null}, both of which Headscale skips, keeping what it had.
     *
     * @throws IllegalArgumentException naming what is wrong (and which record) when the content is malformed
     */
    public static Optional<List<DNSRecord>> parse(byte[] content) {
        if (content.length == 0) return Optional.empty();
        JsonNode root;
        try {
            root = JSON.readTree(content);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || root.isMissingNode()) throw new IllegalArgumentException("not valid JSON: no content");
        if (root.isNull()) return Optional.empty();
        if (!root.isArray()) throw new IllegalArgumentException("expected a JSON array of records, got " + kind(root));
        TreeSet<DNSRecord> records = new TreeSet<>(ORDER);
        for (int i = 0; i < root.size(); i++) records.add(record(root.get(i), i));
        return Optional.of(List.copyOf(records));
    }

    private static DNSRecord record(JsonNode n, int index) {
        String at = "record " + index;
        if (n.isNull()) throw new IllegalArgumentException(at + ": null");
        if (!n.isObject()) throw new IllegalArgumentException(at + ": expected an object, got " + kind(n));
        String name = "";
        String type = "";
        String value = "";
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            String key = e.getKey().toLowerCase(Locale.ROOT);
            if (!key.equals("name") && !key.equals("type") && !key.equals("value")) continue;
            JsonNode v = e.getValue();
            if (v.isNull()) continue;
            if (!v.isString()) throw new IllegalArgumentException(at + ": \"" + e.getKey() + "\" must be a string, got " + kind(v));
            switch (key) {
                case "name" -> name = v.asString();
                case "type" -> type = v.asString();
                default -> value = v.asString();
            }
        }
        if (name.isEmpty()) throw new IllegalArgumentException(at + ": \"name\" must not be empty");
        InetAddress addr;
        try {
            addr = IpPrefix.parseAddress(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(at + " (" + name + "): invalid value \"" + value + "\" (expected an IP address)");
        }
        switch (type) {
            case "" -> { } // Tailscale infers A or AAAA from the value
            case "A" -> {
                if (!(addr instanceof Inet4Address)) throw new IllegalArgumentException(at + " (" + name + "): invalid value \""
                        + value + "\" (A needs an IPv4 address)");
            }
            case "AAAA" -> {
                if (!(addr instanceof Inet6Address)) throw new IllegalArgumentException(at + " (" + name + "): invalid value \""
                        + value + "\" (AAAA needs an IPv6 address)");
            }
            default -> throw new IllegalArgumentException(at + " (" + name + "): invalid type \"" + type
                    + "\" (Tailscale clients serve only A and AAAA)");
        }
        return new DNSRecord(name, type.isEmpty() ? null : type, value);
    }

    private static String kind(JsonNode n) {
        return n.getNodeType().toString().toLowerCase(Locale.ROOT);
    }
}
