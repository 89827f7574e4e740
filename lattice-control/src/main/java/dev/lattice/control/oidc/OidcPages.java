package dev.lattice.control.oidc;

/**
 * The small pages a person sees during a login: each says what happened and what to do next, with every value
 * HTML-escaped, and never a stack trace, token, code or secret.
 */
final class OidcPages {
    private OidcPages() {}

    private static final String STYLE = "body{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;"
            + "color:#222;line-height:1.5}h1{font-size:1.5em}code,pre{background:#f3f3f3;padding:.1em .3em}"
            + "button{font-size:1em;padding:.5em 1.2em}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}"
            + "dt{color:#666}dd{margin:0}";

    static String page(String title, String heading, String body) {
        return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                + "<title>Lattice: " + esc(title) + "</title><style>" + STYLE + "</style></head><body><h1>" + esc(heading)
                + "</h1>" + body + "</body></html>\n";
    }

    /** After a successful login at the identity provider: one click registers the machine (Headscale's interstitial). */
    static String confirm(String formAction, String csrfField, String csrf, String user, String hostname, String os, String machineKey) {
        return page("confirm registration", "Register this device?",
                "<p>You are signed in as <b>" + esc(user) + "</b>. Register this device to your account?</p><dl>"
                        + "<dt>Device</dt><dd>" + esc(hostname) + "</dd>"
                        + (os.isEmpty() ? "" : "<dt>OS</dt><dd>" + esc(os) + "</dd>")
                        + "<dt>Machine key</dt><dd><code>" + esc(machineKey) + "</code></dd></dl>"
                        + "<form method=\"post\" action=\"" + esc(formAction) + "\">"
                        + "<input type=\"hidden\" name=\"" + esc(csrfField) + "\" value=\"" + esc(csrf) + "\">"
                        + "<button type=\"submit\">Register device</button></form>"
                        + "<p>If you did not start this from your own device, close this window.</p>");
    }

    static String success(String user, boolean newNode) {
        return newNode
                ? page("device registered", "Device registered", "<p>Registered to <b>" + esc(user)
                        + "</b>. You can close this window: the device connects on its own.</p>")
                : page("device reauthenticated", "Device reauthenticated", "<p>Logged in again as <b>" + esc(user)
                        + "</b>. You can close this window.</p>");
    }

    static String denied(String reason) {
        return page("not allowed", "You are not allowed to join this network",
                "<p>" + esc(reason) + "</p><p>Nothing was registered. If you think you should have access, ask the "
                        + "network's administrator, or sign in with another account and start again from your device.</p>");
    }

    static String expired() {
        return page("login expired", "This login has expired or was already used",
                "<p>Nothing was registered. Start again from your device (for example, run <code>tailscale up</code> "
                        + "again) and open the new link it prints, in this browser.</p>");
    }

    static String failed(String what) {
        return page("login failed", "The login did not complete",
                "<p>" + esc(what) + "</p><p>Nothing was registered. Start again from your device.</p>");
    }

    static String unavailable() {
        return page("identity provider unavailable", "The sign-in service is not reachable",
                "<p>The identity provider could not be reached. Please try again in a minute by reloading this page.</p>");
    }

    static String sshPassed(String user) {
        return page("SSH check passed", "SSH check passed", "<p>Signed in as <b>" + esc(user)
                + "</b>. You can close this window: your SSH connection continues on its own.</p>");
    }

    static String sshRefused(String why) {
        return page("SSH check refused", "SSH check refused", "<p>" + esc(why) + "</p><p>The SSH connection stays closed.</p>");
    }

    static String sshExpired() {
        return page("SSH check expired", "This SSH check has expired or was already decided",
                "<p>Connect again with SSH and open the new link it shows, in this browser.</p>");
    }

    static String esc(String s) {
        if (s == null) return "";
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
