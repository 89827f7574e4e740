package dev.lattice.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code serve}'s plain command lines skip picocli (ControlCli.plainServe); they must behave as through it. */
class ServeCommandLineTest {
    record Row(List<String> args, String config) {}

    @Test
    void onlyThePlainFormsSkipPicocli() {
        List<Row> rows = List.of(
                new Row(List.of("serve"), ""),
                new Row(List.of("serve", "-c", "a.yaml"), "a.yaml"),
                new Row(List.of("serve", "--config", "/etc/x.yaml"), "/etc/x.yaml"),
                new Row(List.of("-c", "a.yaml", "serve"), "a.yaml"),
                new Row(List.of("--config", "a.yaml", "serve"), "a.yaml"),
                // everything else: picocli
                new Row(List.of("serve", "--help"), null),
                new Row(List.of("serve", "-h"), null),
                new Row(List.of("serve", "-c"), null),
                new Row(List.of("serve", "-c", "-h"), null),
                new Row(List.of("serve", "-c", ""), null),
                new Row(List.of("serve", "--config=a.yaml"), null),
                new Row(List.of("serve", "-o", "json"), null),
                new Row(List.of("serve", "extra"), null),
                new Row(List.of("-c", "a.yaml", "users"), null),
                new Row(List.of("users", "-c", "a.yaml"), null),
                new Row(List.of("serve", "-c", "a.yaml", "--force"), null),
                new Row(List.of(), null));
        for (Row r : rows) {
            Path p = ControlCli.plainServe(r.args().toArray(String[]::new));
            assertThat(p == null ? null : p.toString()).as("%s", r.args()).isEqualTo(r.config());
        }
    }

    @Test
    void failuresReadAsPicocliWouldSayThem(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing.yaml");
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "listen_addr: [\n");
        Path unknown = Files.writeString(dir.resolve("unknown.yaml"), "no_such_key: 1\n");
        for (Path cfg : List.of(missing, bad, unknown)) {
            Result plain = cli("serve", "-c", cfg.toString());
            Result picocli = cli("serve", "--config=" + cfg); // not a plain form: through picocli
            assertThat(plain.code()).as("%s", cfg).isEqualTo(1).isEqualTo(picocli.code());
            assertThat(plain.err()).as("%s", cfg).isNotBlank().isEqualTo(picocli.err());
        }
    }

    record Result(int code, String out, String err) {}

    private static Result cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ControlCli.run(Arrays.copyOf(args, args.length), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), new ByteArrayInputStream(new byte[0]));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
