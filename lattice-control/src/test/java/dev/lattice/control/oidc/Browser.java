package dev.lattice.control.oidc;

import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A person's browser, as far as a login needs one: a cookie jar, redirects followed by hand (each hop's cookies
 * kept), HTML forms read and submitted. Enough for Keycloak's login form and Lattice's confirmation page.
 */
public final class Browser {
    public record Page(int status, URI url, String body) {
        /** The action and fields of the first form (or the one whose tag contains {@code marker}). */
        public Form form(String marker) {
            Matcher m = Pattern.compile("<form\\b[^>]*>", Pattern.CASE_INSENSITIVE).matcher(body);
            while (m.find()) {
                String tag = m.group();
                if (marker != null && !tag.contains(marker)) continue;
                Matcher a = Pattern.compile("action=\"([^\"]*)\"").matcher(tag);
                String action = a.find() ? unescape(a.group(1)) : url.toString();
                int end = body.indexOf("</form>", m.end());
                String inner = body.substring(m.end(), end < 0 ? body.length() : end);
                Map<String, String> fields = new LinkedHashMap<>();
                Matcher in = Pattern.compile("<input\\b[^>]*>", Pattern.CASE_INSENSITIVE).matcher(inner);
                while (in.find()) {
                    Matcher n = Pattern.compile("name=\"([^\"]*)\"").matcher(in.group());
                    Matcher v = Pattern.compile("value=\"([^\"]*)\"").matcher(in.group());
                    if (n.find()) fields.put(unescape(n.group(1)), v.find() ? unescape(v.group(1)) : "");
                }
                return new Form(url.resolve(action), fields);
            }
            throw new AssertionError("no form" + (marker == null ? "" : " " + marker) + " on " + url + " (HTTP " + status + "):\n" + body);
        }

        public boolean hasForm(String marker) {
            return Pattern.compile("<form\\b[^>]*" + Pattern.quote(marker)).matcher(body).find();
        }
    }

    public record Form(URI action, Map<String, String> fields) {}

    private final HttpClient http = HttpClient.newBuilder().cookieHandler(new LoopbackIsSecure())
            .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5)).build();

    /**
     * Browsers treat http://127.0.0.1 as a secure context and send it Secure cookies (Keycloak sets its session cookies
     * Secure even over plain HTTP); java.net's cookie manager does not, so for loopback the attribute is dropped.
     */
    private static final class LoopbackIsSecure extends java.net.CookieHandler {
        private final CookieManager jar = new CookieManager(null, CookiePolicy.ACCEPT_ALL);

        @Override
        public Map<String, java.util.List<String>> get(URI uri, Map<String, java.util.List<String>> headers) throws java.io.IOException {
            return jar.get(uri, headers);
        }

        @Override
        public void put(URI uri, Map<String, java.util.List<String>> headers) throws java.io.IOException {
            if (!"127.0.0.1".equals(uri.getHost())) {
                jar.put(uri, headers);
                return;
            }
            Map<String, java.util.List<String>> copy = new LinkedHashMap<>();
            headers.forEach((k, v) -> copy.put(k, k != null && k.equalsIgnoreCase("set-cookie")
                    ? v.stream().map(c -> c.replaceAll("(?i);\\s*Secure(?=;|$)", "")).toList() : v));
            jar.put(uri, copy);
        }
    }

    public Page get(URI url) throws Exception {
        return follow(http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString()));
    }

    public Page submit(Form form, Map<String, String> values) throws Exception {
        return follow(post(form, values));
    }

    /** Submits a form and returns where its answer redirects to, without going there. */
    public URI submitForRedirect(Form form, Map<String, String> values) throws Exception {
        HttpResponse<String> r = post(form, values);
        if (r.statusCode() / 100 != 3) throw new AssertionError("expected a redirect from " + form.action() + ", got HTTP " + r.statusCode() + ": " + r.body());
        return form.action().resolve(r.headers().firstValue("Location").orElseThrow());
    }

    private HttpResponse<String> post(Form form, Map<String, String> values) throws Exception {
        Map<String, String> all = new LinkedHashMap<>(form.fields());
        all.putAll(values);
        String body = all.entrySet().stream().map(e -> enc(e.getKey()) + "=" + enc(e.getValue())).collect(Collectors.joining("&"));
        return http.send(HttpRequest.newBuilder(form.action()).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** GETs {@code url} without following a redirect: the raw answer. */
    public HttpResponse<String> raw(URI url) throws Exception {
        return http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The URL a redirect points to, without going there (to tamper with it, or replay it). */
    public URI redirectTarget(URI url) throws Exception {
        HttpResponse<String> r = raw(url);
        if (r.statusCode() / 100 != 3) throw new AssertionError("expected a redirect from " + url + ", got HTTP " + r.statusCode() + ": " + r.body());
        return url.resolve(r.headers().firstValue("Location").orElseThrow());
    }

    /** Follows a login from Keycloak's form, when it shows one (a live session at Keycloak skips it), to the page after. */
    public Page login(Page page, String user, String password) throws Exception {
        if (!page.hasForm("kc-form-login")) return page;
        return submit(page.form("kc-form-login"), Map.of("username", user, "password", password));
    }

    private Page follow(HttpResponse<String> r) throws Exception {
        for (int hops = 0; r.statusCode() / 100 == 3 && hops < 10; hops++) {
            URI next = r.uri().resolve(r.headers().firstValue("Location").orElseThrow());
            r = http.send(HttpRequest.newBuilder(next).timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
        }
        return new Page(r.statusCode(), r.uri(), r.body());
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static String unescape(String s) {
        return s.replace("&amp;", "&").replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">");
    }
}
