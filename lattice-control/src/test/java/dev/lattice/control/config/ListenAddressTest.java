package dev.lattice.control.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Go-style host:port listen addresses. */
class ListenAddressTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0.0.0.0:8080|0.0.0.0|8080", "[::1]:443|::1|443", ":8080||8080", ":http||80",
            "localhost:9090|localhost|9090", "[fd7a:115c:a1e0::1]:0|fd7a:115c:a1e0::1|0"})
    void parses(String text, String host, int port) {
        ListenAddress a = ListenAddress.parse(text);
        assertThat(a).isEqualTo(new ListenAddress(host == null ? "" : host, port));
        assertThat(ListenAddress.parse(a.toString())).isEqualTo(a);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "8080", "0.0.0.0", "::1:80", "[::1:80", "[1.2.3.4]:80", "host:", "host:65536",
            "host:-1", "300.0.0.1:80", "bad_host:80", "a..b:80", "h:123456"})
    void rejects(String text) {
        assertThatThrownBy(() -> ListenAddress.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }
}
