package dev.lattice.control.oidc;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What the pages show comes from the identity provider and the client: every value is escaped. */
class OidcPagesTest {
    @Test
    void valuesFromClaimsAndClientsAreEscaped() {
        String page = OidcPages.confirm("/register/confirm/abc", "f", "tok\"en", "<script>alert(1)</script>", "host'<img>", "linux&co", "mkey:1234");
        assertThat(page).doesNotContain("<script>").doesNotContain("<img>")
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;").contains("host&#39;&lt;img&gt;").contains("linux&amp;co")
                .contains("value=\"tok&quot;en\"");
        assertThat(OidcPages.denied("<i>no</i>")).contains("&lt;i&gt;no&lt;/i&gt;");
        assertThat(OidcPages.success("\"Bob\"", true)).contains("&quot;Bob&quot;").contains("Device registered");
    }
}
