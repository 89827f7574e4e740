package dev.lattice.agent.peerapi;

import dev.lattice.agent.netmap.NetworkMap;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One request to the peer API, identified: who sent it ({@link #peer}) and the netmap that identified them.
 *
 * @param method the HTTP method, upper case
 * @param path the decoded path, starting with "/"
 * @param query the decoded query parameters (a name may repeat)
 * @param headers header values by lower-case name
 * @param body the request body (empty when there is none)
 * @param local the address and port the request arrived at (one of our tailnet addresses)
 */
public record PeerApiRequest(String method, String path, Map<String, List<String>> query,
        Map<String, List<String>> headers, byte[] body, Peer peer, InetSocketAddress local, NetworkMap netmap) {
    public PeerApiRequest {
        query = Map.copyOf(query);
        headers = Map.copyOf(headers);
    }

    /** The first value of query parameter {@code name}, or null (Go's {@code FormValue} for GET). */
    public String param(String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? null : v.getFirst();
    }

    /** The first value of header {@code name} (any case), or null. */
    public String header(String name) {
        List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
        return v == null || v.isEmpty() ? null : v.getFirst();
    }

    /** All values of header {@code name} (any case). */
    public List<String> headerValues(String name) {
        List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
        return v == null ? List.of() : v;
    }
}
