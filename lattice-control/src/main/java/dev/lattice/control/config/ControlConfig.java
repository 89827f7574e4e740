package dev.lattice.control.config;

import dev.lattice.wire.ip.IpPrefix;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The control server's configuration, read from Headscale's YAML format (v0.29 keys) so an existing
 * {@code config.yaml} works unchanged. No environment interpolation.
 *
 * <p>Reading is strict: a key Headscale does not know fails with its full path and the nearest known key, e.g.
 * {@code dns.nameservers.globl: unknown key (did you mean global?)}; a bad value fails naming key and value.
 * Keys Headscale knows but Lattice does not act on (gRPC, ACME, GORM tuning, ...) are accepted and listed
 * in {@link #unsupportedKeys()} so the server can warn. Relative paths are resolved against the config file's
 * directory, as Headscale does; for {@link #defaults()} against the working directory.
 *
 * <p>Defaults (one set, used for keys a file omits and for {@link #defaults()}), chosen so a bare
 * {@code lattice} start is a working single-host tailnet:
 * <ul>
 * <li>{@code server_url} {@code http://127.0.0.1:8080}; {@code listen_addr} {@code 127.0.0.1:8080};
 *     {@code metrics_listen_addr} {@code 127.0.0.1:9090} (empty string disables it) — as Headscale's example.</li>
 * <li>{@code noise.private_key_path} {@code ./lattice-data/noise_private.key}; {@code database.sqlite.path}
 *     {@code ./lattice-data/db.sqlite} with WAL and autocheckpoint 1000; {@code unix_socket}
 *     {@code ./lattice-data/lattice.sock} mode {@code 0770} — one data directory instead of /var/lib/headscale.</li>
 * <li>{@code prefixes} {@code 100.64.0.0/10} and {@code fd7a:115c:a1e0::/48}, sequential (Tailscale's ranges). If the
 *     file has a {@code prefixes} mapping, only the families it names are used.</li>
 * <li>Embedded DERP <b>enabled</b> (Headscale: disabled), region 999, code {@code lattice}, STUN
 *     {@code 0.0.0.0:3478}, key {@code ./lattice-data/derp_server_private.key}, added to the map automatically;
 *     {@code derp.urls} empty, so nothing talks to Tailscale Inc unless asked; update frequency 3h. Lattice's
 *     {@code derp.server.url} (where clients and other replicas reach this server's DERP) defaults to
 *     {@code server_url}.</li>
 * <li>{@code dns.magic_dns} true with {@code base_domain} {@code lattice.internal} (Headscale has no default and
 *     refuses to start). A leading or trailing dot is dropped: {@code .local} becomes {@code local}.
 *     {@code override_local_dns} defaults to true exactly when global nameservers are configured (Headscale: always
 *     true, then refuses to start without nameservers).</li>
 * <li>Lattice's {@code dns.certificates} false and {@code dns.authoritative} absent (no DNS server; with it,
 *     {@code hostmaster} {@code hostmaster.<base_domain>}, {@code node_records} false, {@code queries_per_second} 50).</li>
 * <li>Lattice's {@code funnel} absent (no Funnel; with it, {@code ingress_tag} and {@code addresses} must be given,
 *     {@code ports} {@code 443,8443,10000}).</li>
 * <li>{@code node.expiry} 0 (never); {@code node.ephemeral.inactivity_timeout} 120s (Headscale's code default; must
 *     exceed 65s); {@code node.routes.ha.probe_interval} 10s and {@code probe_timeout} 5s (Headscale's).</li>
 * <li>Lattice's own {@code limits}: {@code max_connections} 0 (from the file-descriptor limit),
 *     {@code max_connections_per_ip} 256 anonymous connections, {@code request_timeout} 30s.</li>
 * <li>{@code log.level} info, {@code log.format} text; {@code policy.mode} file with no path (no policy);
 *     {@code taildrop.enabled} true (nodes get Tailscale's file-sharing capability, as with Headscale);
 *     {@code auto_update.enabled} false (clients' default-auto-update attribute); {@code logtail.enabled} must be
 *     false (Lattice never has clients send their logs to Tailscale).</li>
 * </ul>
 */
public record ControlConfig(
        URI serverUrl,
        ListenAddress listenAddr,
        ListenAddress metricsListenAddr,
        List<IpPrefix> trustedProxies,
        Path noisePrivateKeyPath,
        Prefixes prefixes,
        Derp derp,
        NodeSettings node,
        Database database,
        Tls tls,
        Log log,
        Policy policy,
        Dns dns,
        Path unixSocket,
        int unixSocketPermission,
        boolean unixSocketPermissionSet,
        boolean taildropEnabled,
        boolean autoUpdateEnabled,
        Limits limits,
        Oidc oidc,
        Funnel funnel,
        List<String> unsupportedKeys,
        List<String> warnings) {

    /** Where clients and the other replicas reach the embedded DERP server: {@code derp.server.url}, else server_url. */
    public URI derpUrl() {
        return derp.server().url() != null ? derp.server().url() : serverUrl;
    }


    public static final IpPrefix TAILSCALE_V4 = IpPrefix.parse("100.64.0.0/10");
    public static final IpPrefix TAILSCALE_V6 = IpPrefix.parse("fd7a:115c:a1e0::/48");

    public enum Allocation { SEQUENTIAL, RANDOM }

    /** Address pools; either may be null (that family is not handed out), not both. */
    public record Prefixes(IpPrefix v4, IpPrefix v6, Allocation allocation) {}

    public record DerpServer(
            boolean enabled,
            int regionId,
            String regionCode,
            String regionName,
            boolean verifyClients,
            boolean stunEnabled,
            ListenAddress stunListenAddr,
            Path privateKeyPath,
            boolean automaticallyAddEmbeddedDerpRegion,
            Inet4Address ipv4,
            Inet6Address ipv6,
            URI url) {}

    public record Derp(DerpServer server, List<URI> urls, List<Path> paths, boolean autoUpdateEnabled, Duration updateFrequency) {}

    /**
     * Node lifecycle: default key expiry (zero = never), the ephemeral-node inactivity timeout, and the liveness
     * probes of HA subnet routers.
     */
    public record NodeSettings(Duration expiry, Duration ephemeralInactivityTimeout, HaProbes haProbes) {}

    /**
     * {@code node.routes.ha}: every {@code interval} each node serving a route that another node serves too is
     * probed, and one that does not answer within {@code timeout} loses its connection, so its routes fail over.
     * Headscale's keys and defaults (10s, 5s); an interval of zero turns probing off.
     */
    public record HaProbes(Duration interval, Duration timeout) {
        public boolean enabled() {
            return !interval.isZero();
        }
    }

    /**
     * Lattice's {@code limits} section, what a stranger may hold of the server: connections in total (0: from the
     * file-descriptor limit), anonymous connections per client address (reverse proxies in {@code trusted_proxies}
     * are exempt and their clients counted instead), and the time a request has to arrive whole.
     */
    public record Limits(int maxConnections, int maxConnectionsPerIp, Duration requestTimeout) {}

    public enum PkceMethod { S256, PLAIN }

    /**
     * {@code oidc}: OpenID Connect login, on exactly when {@code issuer} is set (as in Headscale). The client secret is
     * never printed ({@link #toString()}); {@code groupsClaim} is Lattice's own key (the claim holding the user's
     * groups at the identity provider, {@code groups} by default).
     */
    public record Oidc(
            URI issuer,
            String clientId,
            String clientSecret,
            List<String> scope,
            Map<String, String> extraParams,
            List<String> allowedDomains,
            List<String> allowedUsers,
            List<String> allowedGroups,
            boolean emailVerifiedRequired,
            boolean useExpiryFromToken,
            boolean onlyStartIfOidcIsAvailable,
            boolean pkceEnabled,
            PkceMethod pkceMethod,
            String groupsClaim) {

        public boolean enabled() {
            return issuer != null;
        }

        @Override
        public String toString() {
            return "Oidc[issuer=" + issuer + ", clientId=" + clientId + ", clientSecret="
                    + (clientSecret == null || clientSecret.isEmpty() ? "" : "<redacted>") + ", scope=" + scope
                    + ", extraParams=" + extraParams + ", allowedDomains=" + allowedDomains + ", allowedUsers="
                    + allowedUsers + ", allowedGroups=" + allowedGroups + ", emailVerifiedRequired=" + emailVerifiedRequired
                    + ", useExpiryFromToken=" + useExpiryFromToken + ", onlyStartIfOidcIsAvailable="
                    + onlyStartIfOidcIsAvailable + ", pkceEnabled=" + pkceEnabled + ", pkceMethod=" + pkceMethod
                    + ", groupsClaim=" + groupsClaim + "]";
        }
    }

    public enum DatabaseType { SQLITE, POSTGRES }

    public record Sqlite(Path path, boolean writeAheadLog, int walAutocheckpoint) {}

    /**
     * PostgreSQL connection. {@code ssl} is Headscale's field: {@code true}/{@code false} mean sslmode
     * require/disable, anything else is passed through as the sslmode.
     */
    public record Postgres(String host, int port, String name, String user, String pass, String ssl,
                           int maxOpenConns, int maxIdleConns, int connMaxIdleTimeSecs) {
        public String sslMode() {
            return switch (ssl.toLowerCase(Locale.ROOT)) {
                case "true", "1" -> "require";
                case "false", "0", "" -> "disable";
                default -> ssl;
            };
        }

        /** JDBC URL without credentials (those go as properties). Unix-socket hosts are not supported by pgjdbc. */
        public String jdbcUrl() {
            String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
            return "jdbc:postgresql://" + h + ":" + port + "/" + name + "?sslmode=" + sslMode();
        }

        @Override
        public String toString() {
            return "Postgres[host=" + host + ", port=" + port + ", name=" + name + ", user=" + user
                    + ", pass=" + (pass.isEmpty() ? "" : "<redacted>") + ", ssl=" + ssl + ", maxOpenConns=" + maxOpenConns
                    + ", maxIdleConns=" + maxIdleConns + ", connMaxIdleTimeSecs=" + connMaxIdleTimeSecs + "]";
        }
    }

    public record Database(DatabaseType type, Sqlite sqlite, Postgres postgres) {}

    /** TLS: certificate files (either both or neither). ACME keys are accepted but Lattice does not run ACME. */
    public record Tls(Path certPath, Path keyPath) {
        public boolean enabled() {
            return certPath != null;
        }
    }

    public enum LogLevel { TRACE, DEBUG, INFO, WARN, ERROR, FATAL, PANIC, DISABLED }

    public enum LogFormat { TEXT, JSON }

    public record Log(LogLevel level, LogFormat format) {}

    public enum PolicyMode { FILE, DATABASE }

    /** Policy source; {@code path} is null when no file is configured. */
    public record Policy(PolicyMode mode, Path path) {}

    /** An extra DNS record served to clients (Tailscale supports A and AAAA). */
    public record ExtraRecord(String name, String type, String value) {}

    public record Dns(boolean magicDns, String baseDomain, boolean overrideLocalDns, List<String> globalNameservers,
                      Map<String, List<String>> splitNameservers, List<String> searchDomains,
                      List<ExtraRecord> extraRecords, Path extraRecordsPath, boolean certificates,
                      Authoritative authoritative) {
        public Dns(boolean magicDns, String baseDomain, boolean overrideLocalDns, List<String> globalNameservers,
                   Map<String, List<String>> splitNameservers, List<String> searchDomains,
                   List<ExtraRecord> extraRecords, Path extraRecordsPath) {
            this(magicDns, baseDomain, overrideLocalDns, globalNameservers, splitNameservers, searchDomains, extraRecords,
                    extraRecordsPath, false, null);
        }
    }

    /**
     * Lattice's {@code dns.authoritative}: a DNS server answering for the zone {@code dns.base_domain} once a parent
     * zone delegates it here ({@code ns} are the delegated name servers' names, {@code hostmaster} the SOA's mailbox).
     * It answers the ACME challenge TXT records nodes set, and with {@code nodeRecords} the nodes' tailnet addresses;
     * each client address (IPv6: its /64) may ask {@code queriesPerSecond} (bursts of twice that). Null when off.
     */
    public record Authoritative(ListenAddress listenAddr, List<String> ns, String hostmaster, boolean nodeRecords,
                                int queriesPerSecond) {}

    /**
     * Lattice's {@code funnel}: Tailscale Funnel through an ingress node of this tailnet. Nodes tagged
     * {@code ingressTag} are the ingress (latticed with {@code --funnel-listen}); nodes the policy's {@code nodeAttrs}
     * give {@code funnel} may publish {@code ports} through it, and the authoritative DNS answers their names with
     * {@code addresses} (the ingress's public addresses). Null when off.
     */
    public record Funnel(String ingressTag, List<InetAddress> addresses, String ports) {}

    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    /** Lattice's defaults, as if an empty config file had been read from the working directory. */
    public static ControlConfig defaults() {
        return bind(null, Path.of(""));
    }

    /** Reads a config file. Throws {@link ConfigException} naming the key for any problem with its content. */
    public static ControlConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file " + file + " does not exist");
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage(), e);
        }
        Path dir = file.toAbsolutePath().getParent();
        return parse(text, dir == null ? Path.of("") : dir);
    }

    /** Reads config text; relative paths resolve against {@code baseDir}. */
    public static ControlConfig parse(String yaml, Path baseDir) {
        JsonNode root;
        try {
            root = YAML.readTree(yaml);
        } catch (JacksonException e) {
            throw new ConfigException("config is not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()), e);
        }
        if (root != null && root.isMissingNode()) root = null;
        return bind(root, baseDir);
    }

    private static ControlConfig bind(JsonNode root, Path baseDir) {
        Section.Report report = new Section.Report();
        Section top = new Section("", root, report);
        Paths paths = new Paths(baseDir);

        // Keys Headscale removed: it refuses to start, so do we, with its pointer to the replacement.
        if (top.has("dns_config")) top.fail("dns_config", "removed in Headscale 0.23, use the dns section");
        if (top.has("acl_policy_path")) top.fail("acl_policy_path", "removed, use policy.path");

        URI serverUrl = top.parsed("server_url", URI.create("http://127.0.0.1:8080"), ControlConfig::serverUrl);
        ListenAddress listen = top.parsed("listen_addr", new ListenAddress("127.0.0.1", 8080), ListenAddress::parse);
        ListenAddress metrics = top.has("metrics_listen_addr")
                ? top.parsed("metrics_listen_addr", null, ListenAddress::parse)
                : new ListenAddress("127.0.0.1", 9090);
        if (!top.has("metrics_listen_addr") && root != null && root.has("metrics_listen_addr")) metrics = null;

        // No gRPC listener: its address is warned about (remote admins use the REST API), its TLS switch has nothing
        // to switch.
        top.unsupported("grpc_listen_addr", "private_key_path");
        top.bool("grpc_allow_insecure", false);
        // Lattice never phones home for updates, so the switch is read (and type-checked) and has nothing to turn off.
        top.bool("disable_check_updates", false);

        List<IpPrefix> proxies = new ArrayList<>();
        for (String p : top.strings("trusted_proxies")) {
            IpPrefix prefix = parseOr(top, "trusted_proxies", p, IpPrefix::parse);
            if (prefix.bits() == 0) top.fail("trusted_proxies", "invalid value \"" + p + "\" (0.0.0.0/0 and ::/0 are not allowed)");
            proxies.add(prefix);
        }

        Section noise = top.section("noise");
        Path noiseKey = paths.of(noise.string("private_key_path", "lattice-data/noise_private.key"));
        if (noiseKey == null) noise.fail("private_key_path", "must not be empty");
        noise.finish();

        Prefixes prefixes = prefixes(top);
        Derp derp = derp(top.section("derp"), paths);
        NodeSettings node = node(top);
        Database database = database(top.section("database"), paths);
        Tls tls = tls(top, paths);
        Log log = log(top.section("log"));
        Policy policy = policy(top.section("policy"), paths);
        Dns dns = dns(top.section("dns"), paths);
        checkServerUrlOutsideBaseDomain(top, serverUrl, dns.baseDomain());

        Path unixSocket = paths.of(top.string("unix_socket", "lattice-data/lattice.sock"));
        // Headscale reads unix_socket_permission; the plural spelling appears in published configs (Headscale
        // silently ignores it), so Lattice honours both.
        int socketMode = 0770;
        boolean socketModeSet = false;
        for (String k : List.of("unix_socket_permissions", "unix_socket_permission")) {
            if (top.has(k)) {
                socketMode = top.parsed(k, 0770, ControlConfig::fileMode);
                socketModeSet = true;
            }
        }

        // Headscale's logtail.enabled makes clients ship their logs to Tailscale Inc.; Lattice never does.
        if (flag(top, "logtail")) {
            top.fail("logtail.enabled", "true is not supported: Lattice does not send logs to third parties (set it to false)");
        }
        boolean taildrop = flagDefault(top, "taildrop", true);
        boolean autoUpdate = flag(top, "auto_update");
        Limits limits = limits(top.section("limits"));

        top.unsupported("cli");
        Oidc oidc = OidcSection.read(top.section("oidc"), paths::of);
        Funnel funnel = funnel(top, dns);
        top.unsupportedSection("tuning", "notifier_send_timeout", "batch_change_delay",
                "node_mapsession_buffered_chan_size", "node_store_batch_size", "node_store_batch_timeout",
                "batcher_workers", "register_cache_expiration", "register_cache_max_entries",
                "register_cache_cleanup");
        if (top.has("randomize_client_port")) {
            top.warn("randomize_client_port: moved to the policy (top-level \"randomizeClientPort\") in Headscale 0.29");
        }
        top.unsupported("randomize_client_port");
        top.finish();

        return new ControlConfig(serverUrl, listen, metrics, List.copyOf(proxies), noiseKey, prefixes, derp,
                node, database, tls, log, policy, dns, unixSocket, socketMode, socketModeSet, taildrop, autoUpdate, limits,
                oidc, funnel, List.copyOf(report.unsupported), List.copyOf(report.warnings));
    }

    private static Funnel funnel(Section top, Dns dns) {
        Section s = top.section("funnel");
        if (!top.has("funnel")) {
            s.finish();
            return null;
        }
        String tag = s.string("ingress_tag", "");
        if (!tag.startsWith("tag:") || tag.length() == 4) {
            s.fail("ingress_tag", "must be a tag (e.g. tag:funnel-ingress): the nodes with it are the ingress");
        }
        List<InetAddress> addrs = new ArrayList<>();
        for (String a : s.strings("addresses")) addrs.add(parseOr(s, "addresses", a, IpPrefix::parseAddress));
        if (addrs.isEmpty()) s.fail("addresses", "must list the ingress's public addresses (the A/AAAA answers for Funnel names)");
        String ports = s.string("ports", "443,8443,10000");
        for (String p : ports.split(",", -1)) {
            String[] range = p.split("-", -1);
            try {
                if (range.length > 2) throw new NumberFormatException();
                int first = Integer.parseInt(range[0]), last = Integer.parseInt(range[range.length - 1]);
                if (first < 1 || last > 65535 || first > last) throw new NumberFormatException();
            } catch (NumberFormatException e) {
                s.fail("ports", "invalid value \"" + ports + "\" (comma-separated ports or ranges, e.g. 443,8443,10000-10010)");
            }
        }
        if (!dns.certificates()) s.fail("ingress_tag", "funnel needs dns.certificates (Funnel serves HTTPS with the node's certificate)");
        s.finish();
        return new Funnel(tag, List.copyOf(addrs), ports);
    }

    private static Limits limits(Section s) {
        int total = s.integer("max_connections", 0, 0, 10_000_000);
        int perIp = s.integer("max_connections_per_ip", 256, 1, 10_000_000);
        Duration request = s.duration("request_timeout", Duration.ofSeconds(30));
        if (request.compareTo(Duration.ofSeconds(1)) < 0) {
            s.fail("request_timeout", "invalid value \"" + GoDuration.format(request) + "\" (must be at least 1s)");
        }
        s.finish();
        return new Limits(total, perIp, request);
    }

    private static boolean flag(Section top, String key) {
        return flagDefault(top, key, false);
    }

    private static boolean flagDefault(Section top, String key, boolean def) {
        Section s = top.section(key);
        boolean v = s.bool("enabled", def);
        s.finish();
        return v;
    }

    private static URI serverUrl(String text) {
        if (!text.startsWith("http://") && !text.startsWith("https://")) {
            throw new IllegalArgumentException("must start with http:// or https://");
        }
        try {
            URI u = new URI(text);
            if (u.getHost() == null || u.getHost().isEmpty()) throw new IllegalArgumentException("no host");
            return u;
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a URL");
        }
    }

    /** Octal permission bits: {@code 0770}, {@code 770} or {@code 0o770}. */
    static int fileMode(String text) {
        String t = text.startsWith("0o") || text.startsWith("0O") ? text.substring(2) : text;
        if (t.isEmpty() || t.length() > 4 || !t.chars().allMatch(c -> c >= '0' && c <= '7')) {
            throw new IllegalArgumentException("expected octal permissions like 0770");
        }
        int mode = Integer.parseInt(t, 8);
        if (mode > 0777) throw new IllegalArgumentException("only permission bits 0..0777 are allowed");
        return mode;
    }

    private static Prefixes prefixes(Section top) {
        boolean present = top.has("prefixes");
        Section s = top.section("prefixes");
        IpPrefix v4 = s.parsed("v4", null, IpPrefix::parse);
        IpPrefix v6 = s.parsed("v6", null, IpPrefix::parse);
        if (v4 != null && !v4.isIPv4()) s.fail("v4", "invalid value \"" + v4 + "\" (not an IPv4 prefix)");
        if (v6 != null && v6.isIPv4()) s.fail("v6", "invalid value \"" + v6 + "\" (not an IPv6 prefix)");
        if (!present) {
            v4 = TAILSCALE_V4;
            v6 = TAILSCALE_V6;
        } else if (v4 == null && v6 == null) {
            throw new ConfigException("prefixes: no IPv4 or IPv6 prefix configured, at least one is required");
        }
        if (v4 != null && !within(TAILSCALE_V4, v4)) {
            s.warn("prefixes.v4: " + v4 + " is outside " + TAILSCALE_V4 + "; Tailscale clients assume that range");
        }
        if (v6 != null && !within(TAILSCALE_V6, v6)) {
            s.warn("prefixes.v6: " + v6 + " is outside " + TAILSCALE_V6 + "; Tailscale clients assume that range");
        }
        Allocation alloc = s.parsed("allocation", Allocation.SEQUENTIAL, t -> switch (t) {
            case "sequential" -> Allocation.SEQUENTIAL;
            case "random" -> Allocation.RANDOM;
            default -> throw new IllegalArgumentException("expected sequential or random");
        });
        s.finish();
        return new Prefixes(v4, v6, alloc);
    }

    private static boolean within(IpPrefix outer, IpPrefix inner) {
        return outer.isIPv4() == inner.isIPv4() && inner.bits() >= outer.bits() && outer.contains(inner.address());
    }

    private static Derp derp(Section d, Paths paths) {
        Section s = d.section("server");
        boolean enabled = s.bool("enabled", true);
        int regionId = s.integer("region_id", 999, 1, Integer.MAX_VALUE);
        String code = s.string("region_code", "lattice");
        String name = s.string("region_name", "Lattice Embedded DERP");
        boolean verify = s.bool("verify_clients", true);
        Section stun = s.section("stun");
        boolean stunEnabled = stun.bool("enabled", true);
        stun.finish();
        ListenAddress stunAddr = s.has("stun_listen_addr")
                ? s.parsed("stun_listen_addr", null, ListenAddress::parse)
                : new ListenAddress("0.0.0.0", 3478);
        if (enabled && stunEnabled && stunAddr == null) {
            s.fail("stun_listen_addr", "must be set when derp.server.enabled is true");
        }
        Path key = paths.of(s.string("private_key_path", "lattice-data/derp_server_private.key"));
        if (enabled && key == null) s.fail("private_key_path", "must not be empty when derp.server.enabled is true");
        boolean autoAdd = s.bool("automatically_add_embedded_derp_region", true);
        Inet4Address ipv4 = (Inet4Address) s.parsed("ipv4", null, t -> {
            if (!(IpPrefix.parseAddress(t) instanceof Inet4Address a)) throw new IllegalArgumentException("not an IPv4 address");
            return a;
        });
        Inet6Address ipv6 = (Inet6Address) s.parsed("ipv6", null, t -> {
            InetAddress a = IpPrefix.parseAddress(t);
            if (!(a instanceof Inet6Address a6) || t.indexOf(':') < 0) throw new IllegalArgumentException("not an IPv6 address");
            return a6;
        });
        // Lattice's: where clients and the other replicas reach this server's DERP (null: server_url). Replicas on one
        // PostgreSQL database each set their own, so the DERP map lists each as a node of the region.
        URI url = s.parsed("url", null, ControlConfig::serverUrl);
        if (url != null && !enabled) s.warn("derp.server.url: has no effect while derp.server.enabled is false");
        s.finish();

        List<URI> urls = new ArrayList<>();
        for (String u : d.strings("urls")) {
            urls.add(parseOr(d, "urls", u, t -> {
                URI uri = URI.create(t);
                if (!"https".equals(uri.getScheme()) && !"http".equals(uri.getScheme())) {
                    throw new IllegalArgumentException("expected an http(s) URL");
                }
                return uri;
            }));
        }
        List<Path> derpPaths = d.strings("paths").stream().map(paths::of).toList();
        if (enabled && !autoAdd && derpPaths.isEmpty()) {
            throw new ConfigException("derp.server.automatically_add_embedded_derp_region: false requires the region in derp.paths");
        }
        boolean autoUpdate = d.bool("auto_update_enabled", true);
        Duration freq = d.duration("update_frequency", Duration.ofHours(3));
        d.finish();
        return new Derp(new DerpServer(enabled, regionId, code, name, verify, stunEnabled, stunAddr, key, autoAdd, ipv4, ipv6, url),
                List.copyOf(urls), derpPaths, autoUpdate, freq);
    }

    private static NodeSettings node(Section top) {
        Section n = top.section("node");
        Duration expiry = n.duration("expiry", Duration.ZERO, GoDuration::parseWithDays);
        Section eph = n.section("ephemeral");
        boolean newKey = eph.has("inactivity_timeout");
        Duration timeout = eph.duration("inactivity_timeout", Duration.ofSeconds(120));
        eph.finish();
        if (top.has("ephemeral_node_inactivity_timeout")) {
            Duration old = top.duration("ephemeral_node_inactivity_timeout", timeout);
            if (!newKey) timeout = old;
            top.warn("ephemeral_node_inactivity_timeout: deprecated, use node.ephemeral.inactivity_timeout");
        }
        if (timeout.compareTo(Duration.ofSeconds(65)) <= 0) {
            throw new ConfigException("node.ephemeral.inactivity_timeout: invalid value \"" + GoDuration.format(timeout)
                    + "\" (must be more than 65s, the keepalive timeout)");
        }
        Section routes = n.section("routes");
        Section ha = routes.section("ha");
        Duration interval = ha.duration("probe_interval", Duration.ofSeconds(10));
        Duration probeTimeout = ha.duration("probe_timeout", Duration.ofSeconds(5));
        if (!interval.isZero()) {
            // Headscale's checks, with its wording.
            if (interval.compareTo(Duration.ofSeconds(2)) < 0) {
                ha.fail("probe_interval", "invalid value \"" + GoDuration.format(interval) + "\" (must be >= 2s, or 0 to disable)");
            }
            if (probeTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
                ha.fail("probe_timeout", "invalid value \"" + GoDuration.format(probeTimeout) + "\" (must be >= 1s)");
            }
            if (probeTimeout.compareTo(interval) >= 0) {
                ha.fail("probe_timeout", "invalid value \"" + GoDuration.format(probeTimeout)
                        + "\" (must be less than node.routes.ha.probe_interval, " + GoDuration.format(interval) + ")");
            }
        }
        ha.finish();
        routes.finish();
        n.finish();
        return new NodeSettings(expiry, timeout, new HaProbes(interval, probeTimeout));
    }

    private static Database database(Section s, Paths paths) {
        DatabaseType type = s.parsed("type", DatabaseType.SQLITE, t -> switch (t) {
            case "sqlite", "sqlite3" -> DatabaseType.SQLITE;
            case "postgres", "postgresql" -> DatabaseType.POSTGRES;
            default -> throw new IllegalArgumentException("expected sqlite or postgres");
        });
        // database.debug asks for SQL logging (not implemented); GORM's switches: statements are always prepared
        // and parameterized, and a missing record is never logged, so only the slow-query log is missing.
        if (s.bool("debug", false)) s.unsupported("debug");
        Section gorm = s.section("gorm");
        gorm.bool("prepare_stmt", true);
        gorm.bool("parameterized_queries", true);
        gorm.bool("skip_err_record_not_found", true);
        gorm.unsupported("slow_threshold");
        gorm.finish();
        Section sq = s.section("sqlite");
        Path path = paths.of(sq.string("path", "lattice-data/db.sqlite"));
        if (type == DatabaseType.SQLITE && path == null) sq.fail("path", "must not be empty");
        Sqlite sqlite = new Sqlite(path, sq.bool("write_ahead_log", true), sq.integer("wal_autocheckpoint", 1000, 0, Integer.MAX_VALUE));
        sq.finish();
        Section pg = s.section("postgres");
        Postgres postgres = new Postgres(pg.string("host", "localhost"), pg.integer("port", 5432, 1, 65535),
                pg.string("name", "lattice"), pg.string("user", ""), pg.string("pass", ""), pg.string("ssl", "false"),
                pg.integer("max_open_conns", 10, 1, 10_000), pg.integer("max_idle_conns", 10, 0, 10_000),
                pg.integer("conn_max_idle_time_secs", 3600, 0, Integer.MAX_VALUE));
        if (type == DatabaseType.POSTGRES && postgres.host().startsWith("/")) {
            pg.fail("host", "invalid value \"" + postgres.host() + "\" (unix sockets are not supported, use host and port)");
        }
        pg.finish();
        s.finish();
        return new Database(type, sqlite, postgres);
    }

    private static Tls tls(Section top, Paths paths) {
        Path cert = paths.of(top.string("tls_cert_path", ""));
        Path key = paths.of(top.string("tls_key_path", ""));
        if ((cert == null) != (key == null)) {
            top.fail(cert == null ? "tls_cert_path" : "tls_key_path", "must be set together with "
                    + (cert == null ? "tls_key_path" : "tls_cert_path"));
        }
        // Without ACME, a hostname asking for a Let's Encrypt certificate would leave the server on plain HTTP.
        String le = top.string("tls_letsencrypt_hostname", "");
        if (!le.isEmpty()) {
            top.fail("tls_letsencrypt_hostname", "Let's Encrypt (ACME) is not supported by Lattice: set tls_cert_path and "
                    + "tls_key_path to a certificate, or terminate TLS in a reverse proxy");
        }
        // The other ACME settings only matter with a hostname: read, with nothing to do.
        top.string("acme_url", "");
        top.string("acme_email", "");
        top.string("tls_letsencrypt_cache_dir", "");
        String challenge = top.string("tls_letsencrypt_challenge_type", "HTTP-01");
        if (!challenge.equals("HTTP-01") && !challenge.equals("TLS-ALPN-01")) {
            top.fail("tls_letsencrypt_challenge_type", "invalid value \"" + challenge + "\" (expected HTTP-01 or TLS-ALPN-01)");
        }
        top.parsed("tls_letsencrypt_listen", null, ListenAddress::parse);
        return new Tls(cert, key);
    }

    private static Log log(Section s) {
        LogLevel level = s.parsed("level", LogLevel.INFO, t -> switch (t.toLowerCase(Locale.ROOT)) {
            case "trace" -> LogLevel.TRACE;
            case "debug" -> LogLevel.DEBUG;
            case "info" -> LogLevel.INFO;
            case "warn", "warning" -> LogLevel.WARN;
            case "error" -> LogLevel.ERROR;
            case "fatal" -> LogLevel.FATAL;
            case "panic" -> LogLevel.PANIC;
            case "disabled" -> LogLevel.DISABLED;
            default -> throw new IllegalArgumentException("expected one of panic, fatal, error, warn, info, debug, trace");
        });
        LogFormat format = s.parsed("format", LogFormat.TEXT, t -> switch (t) {
            case "text" -> LogFormat.TEXT;
            case "json" -> LogFormat.JSON;
            default -> throw new IllegalArgumentException("expected text or json");
        });
        s.finish();
        return new Log(level, format);
    }

    private static Policy policy(Section s, Paths paths) {
        PolicyMode mode = s.parsed("mode", PolicyMode.FILE, t -> switch (t) {
            case "file" -> PolicyMode.FILE;
            case "database" -> PolicyMode.DATABASE;
            default -> throw new IllegalArgumentException("expected file or database");
        });
        Path path = paths.of(s.string("path", ""));
        s.finish();
        return new Policy(mode, path);
    }

    private static Dns dns(Section s, Paths paths) {
        if (s.has("use_username_in_magic_dns")) s.fail("use_username_in_magic_dns", "removed in Headscale 0.23");
        boolean magic = s.bool("magic_dns", true);
        String base = s.has("base_domain")
                ? s.parsed("base_domain", "", ControlConfig::baseDomain)
                : "lattice.internal";
        if (magic && base.isEmpty()) s.fail("base_domain", "must be set when magic_dns is true");
        Section ns = s.section("nameservers");
        List<String> global = ns.strings("global");
        for (String n : global) parseOr(ns, "global", n, ControlConfig::nameserver);
        Map<String, List<String>> split = ns.stringListMap("split");
        for (var e : split.entrySet()) {
            for (String n : e.getValue()) parseOr(ns, "split." + e.getKey(), n, ControlConfig::nameserver);
        }
        ns.finish();
        boolean override = s.bool("override_local_dns", !global.isEmpty());
        if (override && global.isEmpty()) {
            s.fail("override_local_dns", "needs dns.nameservers.global (clients would be left without a resolver)");
        }
        List<String> search = s.strings("search_domains");
        List<ExtraRecord> extra = s.list("extra_records", r -> {
            String name = r.string("name", "");
            String type = r.string("type", "A");
            String value = r.string("value", "");
            if (name.isEmpty()) r.fail("name", "must not be empty");
            InetAddress addr = r.parsed("value", null, IpPrefix::parseAddress);
            switch (type) {
                case "A" -> { if (!(addr instanceof Inet4Address)) r.fail("value", "invalid value \"" + value + "\" (A needs an IPv4 address)"); }
                case "AAAA" -> { if (!(addr instanceof Inet6Address)) r.fail("value", "invalid value \"" + value + "\" (AAAA needs an IPv6 address)"); }
                default -> r.fail("type", "invalid value \"" + type + "\" (expected A or AAAA)");
            }
            return new ExtraRecord(name, type, value);
        });
        Path extraPath = paths.of(s.string("extra_records_path", ""));
        if (!extra.isEmpty() && extraPath != null) {
            s.fail("extra_records_path", "dns.extra_records and dns.extra_records_path are mutually exclusive");
        }
        Authoritative authoritative = authoritative(s, magic, base);
        boolean certificates = s.bool("certificates", false);
        if (certificates && (!magic || base.isEmpty())) {
            s.fail("certificates", "needs dns.magic_dns and dns.base_domain (certificates are for the nodes' MagicDNS names)");
        }
        if (certificates && authoritative == null) {
            s.fail("certificates", "needs dns.authoritative (the ACME CA reads the challenge records from it)");
        }
        s.finish();
        return new Dns(magic, base, override, global, split, search, extra, extraPath, certificates, authoritative);
    }

    private static Authoritative authoritative(Section dns, boolean magic, String base) {
        if (!dns.has("authoritative")) {
            dns.section("authoritative").finish();
            return null;
        }
        Section s = dns.section("authoritative");
        ListenAddress listen = s.parsed("listen_addr", null, ListenAddress::parse);
        if (listen == null) s.fail("listen_addr", "must be set (e.g. 0.0.0.0:53), or remove dns.authoritative");
        if (!magic || base.isEmpty()) {
            throw new ConfigException("dns.authoritative: needs dns.magic_dns and dns.base_domain (the zone it answers for)");
        }
        List<String> ns = new ArrayList<>();
        for (String n : s.strings("ns")) {
            String name = parseOr(s, "ns", n, ControlConfig::baseDomain);
            if (name.isEmpty()) s.fail("ns", "invalid value \"" + n + "\" (not a DNS name)");
            if (name.equals(base) || name.endsWith("." + base)) {
                s.fail("ns", "invalid value \"" + n + "\" (inside " + base + ": the server has no address record for it; "
                        + "name a host outside the zone)");
            }
            ns.add(name);
        }
        if (ns.isEmpty()) s.fail("ns", "must name at least one name server (the names the parent zone delegates " + base + " to)");
        String hostmaster = s.parsed("hostmaster", "hostmaster." + base, t -> {
            String h = baseDomain(t.replace('@', '.'));
            if (h.isEmpty()) throw new IllegalArgumentException("not a mailbox or DNS name");
            return h;
        });
        boolean nodeRecords = s.bool("node_records", false);
        int qps = s.integer("queries_per_second", 50, 1, 1_000_000);
        s.finish();
        return new Authoritative(listen, List.copyOf(ns), hostmaster, nodeRecords, qps);
    }

    /** Lower-case DNS name without leading or trailing dots ({@code .local} → {@code local}). */
    static String baseDomain(String text) {
        String d = text.toLowerCase(Locale.ROOT);
        while (d.startsWith(".")) d = d.substring(1);
        while (d.endsWith(".")) d = d.substring(0, d.length() - 1);
        if (d.isEmpty()) return d;
        if (d.length() > 253) throw new IllegalArgumentException("longer than 253 characters");
        for (String label : d.split("\\.", -1)) {
            if (!label.matches("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")) {
                throw new IllegalArgumentException("not a DNS name");
            }
        }
        return d;
    }

    private static String nameserver(String text) {
        if (text.startsWith("https://") || text.startsWith("http://")) {
            URI.create(text);
            return text;
        }
        IpPrefix.parseAddress(text);
        return text;
    }

    /** Headscale's rule: MagicDNS takes over the base domain, so the server must not live in it. */
    private static void checkServerUrlOutsideBaseDomain(Section top, URI serverUrl, String base) {
        if (base.isEmpty()) return;
        String host = serverUrl.getHost().toLowerCase(Locale.ROOT);
        if (host.equals(base) || host.endsWith("." + base)) {
            top.fail("server_url", "invalid value \"" + serverUrl + "\" (must not be inside dns.base_domain " + base
                    + ", or clients could not reach the server once MagicDNS is on)");
        }
    }

    private static <T> T parseOr(Section s, String key, String value, java.util.function.Function<String, T> parser) {
        try {
            return parser.apply(value);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(s.path(key) + ": invalid value \"" + value + "\" (" + e.getMessage() + ")");
        }
    }

    /** Resolves config paths as Headscale does: relative ones against the config file's directory; empty is null. */
    private record Paths(Path base) {
        Path of(String text) {
            if (text == null || text.isEmpty()) return null;
            Path p = Path.of(text);
            return p.isAbsolute() ? p : base.resolve(p).normalize();
        }
    }
}
