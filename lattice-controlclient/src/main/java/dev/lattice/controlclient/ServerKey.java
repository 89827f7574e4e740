package dev.lattice.controlclient;

import dev.lattice.crypto.key.MachinePublicKey;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Key discovery: {@code GET /key?v=N} answers {@code {"legacyPublicKey":"mkey:…","publicKey":"mkey:…"}}. */
public final class ServerKey {
    private ServerKey() {}

    public static MachinePublicKey fetch(URI server, int version) throws IOException, InterruptedException {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(server.resolve("/key?v=" + version))
                    .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) throw new IOException("GET /key answered " + r.statusCode());
            JsonNode n = JsonMapper.shared().readTree(r.body());
            JsonNode k = n.get("publicKey");
            if (k == null || !k.isString()) throw new IOException("GET /key: no publicKey in " + r.body());
            return MachinePublicKey.parse(k.asString());
        }
    }
}
