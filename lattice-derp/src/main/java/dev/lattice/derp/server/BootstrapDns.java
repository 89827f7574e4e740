package dev.lattice.derp.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /bootstrap-dns}, as tailscale's derper and Headscale serve it: a JSON object from host names to their
 * IP addresses, which clients use when their own DNS cannot resolve the control or DERP servers. The names come
 * from a supplier (derper's {@code --bootstrap-dns-names}, or the hosts of the DERP map); they are resolved by
 * {@link #refresh()}, never per request, so a request cannot make the server do DNS lookups. {@code ?q=NAME} answers
 * with just that name when it is known, else with all of them.
 */
public final class BootstrapDns {
    private static final Logger log = LoggerFactory.getLogger(BootstrapDns.class);

    private final Supplier<? extends Collection<String>> names;
    private volatile Map<String, List<String>> resolved = Map.of();

    public BootstrapDns(Supplier<? extends Collection<String>> names) {
        this.names = names;
    }

    /** Resolves every name now (blocking); names that do not resolve are left out. */
    public void refresh() {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (String name : names.get()) {
            if (name == null || name.isBlank() || m.containsKey(name)) continue;
            try {
                List<String> ips = new ArrayList<>();
                for (InetAddress a : InetAddress.getAllByName(name)) ips.add(a.getHostAddress());
                m.put(name, List.copyOf(ips));
            } catch (UnknownHostException e) {
                log.debug("bootstrap DNS lookup {} failed: {}", name, e.getMessage());
            }
        }
        resolved = Map.copyOf(m);
    }

    public Map<String, List<String>> entries() {
        return resolved;
    }

    /** The answer to {@code /bootstrap-dns?q=query} ({@code query} may be null): tab-indented JSON as derper's. */
    public byte[] answer(String query) {
        Map<String, List<String>> all = resolved;
        Map<String, List<String>> m = query != null && all.containsKey(query) ? Map.of(query, all.get(query)) : all;
        StringBuilder sb = new StringBuilder("{");
        boolean first = true;
        for (var e : new java.util.TreeMap<>(m).entrySet()) {
            sb.append(first ? "\n\t" : ",\n\t");
            first = false;
            quote(sb, e.getKey());
            sb.append(": [");
            for (int i = 0; i < e.getValue().size(); i++) {
                sb.append(i == 0 ? "\n\t\t" : ",\n\t\t");
                quote(sb, e.getValue().get(i));
            }
            sb.append(e.getValue().isEmpty() ? "]" : "\n\t]");
        }
        sb.append(first ? "}" : "\n}");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Host names and IP texts only; escape the two characters JSON needs anyway. */
    private static void quote(StringBuilder sb, String s) {
        sb.append('"').append(s.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    }
}
