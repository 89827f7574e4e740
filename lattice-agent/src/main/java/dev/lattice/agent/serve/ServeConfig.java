package dev.lattice.agent.serve;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * What the node serves, in tailscale's {@code ipn.ServeConfig} JSON shape: TCP ports and what each does, the web
 * handlers per {@code host:port}, and AllowFunnel (the {@code host:port}s also published through Funnel).
 * Maps are sorted as Go sorts them so the encoding, and so the ETag, is stable. Unknown fields are refused when decoding
 * ({@link #parse}), not silently dropped.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record ServeConfig(
        @JsonProperty("TCP") @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<Integer, TcpPortHandler> tcp,
        @JsonProperty("Web") @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, WebServerConfig> web,
        @JsonProperty("AllowFunnel") @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, Boolean> allowFunnel) {

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    public ServeConfig {
        // Go's encoding/json sorts integer map keys as their decimal strings ("443" before "80"); so do we.
        TreeMap<Integer, TcpPortHandler> t = new TreeMap<>(java.util.Comparator.comparing(String::valueOf));
        if (tcp != null) t.putAll(tcp);
        tcp = java.util.Collections.unmodifiableMap(t);
        web = web == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(web));
        allowFunnel = allowFunnel == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(allowFunnel));
    }

    public static final ServeConfig EMPTY = new ServeConfig(null, null, null);

    /** What one TCP port does (tailscale's {@code TCPPortHandler}): exactly one of HTTPS, HTTP or TCPForward. */
    public record TcpPortHandler(
            @JsonProperty("HTTPS") @JsonInclude(JsonInclude.Include.NON_DEFAULT) boolean https,
            @JsonProperty("HTTP") @JsonInclude(JsonInclude.Include.NON_DEFAULT) boolean http,
            @JsonProperty("TCPForward") @JsonInclude(JsonInclude.Include.NON_EMPTY) String tcpForward,
            @JsonProperty("TerminateTLS") @JsonInclude(JsonInclude.Include.NON_EMPTY) String terminateTls) {
        public static TcpPortHandler ofHttps() {
            return new TcpPortHandler(true, false, null, null);
        }

        public static TcpPortHandler ofHttp() {
            return new TcpPortHandler(false, true, null, null);
        }

        public static TcpPortHandler forward(String hostPort, String terminateTlsName) {
            return new TcpPortHandler(false, false, hostPort, terminateTlsName);
        }
    }

    /** The web handlers of one {@code host:port}, by mount point (tailscale's {@code WebServerConfig}). */
    public record WebServerConfig(
            @JsonProperty("Handlers") @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, HttpHandler> handlers) {
        public WebServerConfig {
            handlers = handlers == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(handlers));
        }
    }

    /** One mount point's handler (tailscale's {@code HTTPHandler}): exactly one of Path, Proxy or Text. */
    public record HttpHandler(
            @JsonProperty("Path") @JsonInclude(JsonInclude.Include.NON_EMPTY) String path,
            @JsonProperty("Proxy") @JsonInclude(JsonInclude.Include.NON_EMPTY) String proxy,
            @JsonProperty("Text") @JsonInclude(JsonInclude.Include.NON_EMPTY) String text,
            // the peer capabilities a proxied request carries in Tailscale-App-Capabilities
            @JsonProperty("AcceptAppCaps") @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> acceptAppCaps) {
        public HttpHandler {
            acceptAppCaps = acceptAppCaps == null ? List.of() : List.copyOf(acceptAppCaps);
        }

        public HttpHandler(String path, String proxy, String text) {
            this(path, proxy, text, null);
        }

        public static HttpHandler ofProxy(String url) {
            return new HttpHandler(null, url, null);
        }

        public static HttpHandler ofText(String text) {
            return new HttpHandler(null, null, text);
        }
    }

    /** Whether nothing is served. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isEmpty() {
        return tcp.isEmpty() && web.isEmpty() && allowFunnel.isEmpty();
    }

    /** The handler of {@code port}, or null. */
    public TcpPortHandler tcpHandler(int port) {
        return tcp.get(port);
    }

    /** Compact JSON, map keys sorted: what is stored and what the ETag is computed over. */
    public byte[] toJson() {
        return JSON.writeValueAsBytes(this);
    }

    /**
     * The config in {@code json}; an empty body or {@code null} is the empty config (tailscale's CLI posts "null"
     * to reset).
     *
     * @throws IllegalArgumentException with a one-line reason when it is not a serve config
     */
    public static ServeConfig parse(byte[] json) {
        if (json == null || new String(json, StandardCharsets.UTF_8).isBlank()) return EMPTY;
        try {
            ServeConfig c = JSON.readValue(json, ServeConfig.class);
            return c == null ? EMPTY : c;
        } catch (JacksonException e) {
            throw new IllegalArgumentException("decoding serve config: " + e.getOriginalMessage());
        }
    }

    /** tailscale's ETag: the hex SHA-256 of the JSON encoding. */
    public String etag() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(isEmpty() ? "null".getBytes(StandardCharsets.US_ASCII) : toJson()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
