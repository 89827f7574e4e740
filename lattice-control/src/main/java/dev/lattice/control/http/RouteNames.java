package dev.lattice.control.http;

import java.util.Set;
import java.util.regex.Pattern;

/**
 * The route label of a request path for metrics: the path itself for the server's fixed endpoints, a template for
 * those with variables ({@code /register/{auth_id}}, {@code /api/v1/node/{id}}), and {@code other} for anything else,
 * so strangers cannot grow the label set.
 */
public final class RouteNames {
    private static final Set<String> FIXED = Set.of("/", "/key", "/health", "/version", "/verify", "/ts2021", "/derp",
            "/derp/probe", "/derp/latency-check", "/bootstrap-dns", "/robots.txt", "/metrics", "/generate_204",
            "/swagger/v1/openapiv2.json", "/machine/register", "/machine/map", "/machine/set-dns", "/machine/update-health",
            "/machine/audit-log", "/machine/c2n", "/machine/id-token", "/machine/feature/query", "/machine/set-device-attr",
            "/machine/whoami");
    private static final Pattern NUMBER = Pattern.compile("[0-9]{1,20}");
    private static final Set<String> API_WORDS = Set.of("user", "node", "preauthkey", "apikey", "policy", "auth", "debug",
            "health", "rename", "expire", "register", "tags", "approve_routes", "backfillips", "check", "approve", "reject");

    private RouteNames() {}

    public static String of(String path) {
        if (FIXED.contains(path)) return path;
        if (path.startsWith("/register/") && path.indexOf('/', "/register/".length()) < 0) return "/register/{auth_id}";
        if (path.startsWith("/api/v1/")) return api(path.substring("/api/v1/".length()));
        return "other";
    }

    /** {@code node/7/rename/web} → {@code /api/v1/node/{id}/rename/{new_name}}; unknown words make it "other". */
    private static String api(String rest) {
        String[] seg = rest.split("/", -1);
        StringBuilder sb = new StringBuilder("/api/v1");
        for (int i = 0; i < seg.length; i++) {
            String s = seg[i];
            if (i > 0 && seg[i - 1].equals("rename")) sb.append("/{new_name}");
            else if (NUMBER.matcher(s).matches()) sb.append("/{id}");
            else if (API_WORDS.contains(s)) sb.append('/').append(s);
            else if (i == 1 && seg[0].equals("apikey")) sb.append("/{prefix}");
            else return "other";
        }
        return sb.toString();
    }
}
