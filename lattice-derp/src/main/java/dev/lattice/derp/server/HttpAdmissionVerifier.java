package dev.lattice.derp.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lattice.crypto.key.NodePublicKey;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * derper's {@code --verify-client-url}: POSTs tailcfg {@code DERPAdmitClientRequest}
 * ({@code {"NodePublic":"nodekey:…","Source":"1.2.3.4"}}) and admits the client if the answer is 200 with
 * {@code {"Allow":true}}. With {@code failOpen} (derper's default) an unreachable controller admits everyone;
 * any other failure refuses.
 */
public final class HttpAdmissionVerifier implements ClientVerifier {
    private static final Logger log = LoggerFactory.getLogger(HttpAdmissionVerifier.class);
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();
    private static final int MAX_BODY = 4 << 10;

    record AdmitRequest(@JsonProperty("NodePublic") String nodePublic, @JsonProperty("Source") String source) {}

    record AdmitResponse(@JsonProperty("Allow") boolean allow) {}

    private final URI url;
    private final boolean failOpen;
    private final HttpClient http;

    public HttpAdmissionVerifier(URI url, boolean failOpen) {
        this.url = url;
        this.failOpen = failOpen;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @Override
    public CompletionStage<Boolean> admit(NodePublicKey client, InetSocketAddress source) {
        String ip = source == null || source.getAddress() == null ? "" : source.getAddress().getHostAddress();
        byte[] body = JSON.writeValueAsBytes(new AdmitRequest(client.toString(), ip));
        HttpRequest req = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        return http.sendAsync(req, HttpResponse.BodyHandlers.ofInputStream()).handle((res, err) -> {
            if (err != null) {
                Throwable c = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
                if (failOpen && (c instanceof ConnectException || c instanceof HttpTimeoutException)) {
                    log.warn("admission controller unreachable; allowing client {}", client);
                    return true;
                }
                throw new CompletionException(c);
            }
            try (var in = res.body()) {
                byte[] b = in.readNBytes(MAX_BODY);
                if (res.statusCode() != 200) {
                    log.info("admission controller answered {} for {}", res.statusCode(), client);
                    return false;
                }
                return JSON.readValue(Arrays.copyOf(b, b.length), AdmitResponse.class).allow();
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        });
    }

    /** A verifier that refuses everyone: for tests and for "closed until configured". */
    public static ClientVerifier denyAll() {
        return (c, s) -> CompletableFuture.completedFuture(false);
    }
}
