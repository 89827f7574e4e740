package dev.lattice.control.cli;

import dev.lattice.control.config.ControlConfig;
import dev.lattice.control.dns.ExtraRecordsWatcher;
import dev.lattice.crypto.key.MachinePrivateKey;
import java.nio.file.Files;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** Headscale's small top-level commands: {@code version}, {@code configtest}, {@code health}, {@code generate}. */
final class MiscCommands {
    private MiscCommands() {}

    static String version() {
        String v = ControlCli.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    @Command(name = "version", description = "Print the version")
    static final class Version extends ControlCli.Sub implements Callable<Integer> {
        @Override
        public Integer call() {
            ObjectNode info = JsonNodeFactory.instance.objectNode().put("version", version()).put("commit", "unknown")
                    .put("buildTime", "unknown");
            info.putObject("java").put("version", System.getProperty("java.version"))
                    .put("os", System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT)).put("arch", System.getProperty("os.arch"));
            info.put("dirty", false);
            output().raw(info, "lattice-control version " + version() + "\nbuilt with: java " + System.getProperty("java.version")
                    + " " + info.get("java").get("os").asString() + "/" + System.getProperty("os.arch"));
            return 0;
        }
    }

    /**
     * {@code configtest}: reads the config as {@code serve} would, with the files it names that must be valid to
     * start (the extra DNS records file, the policy file, TLS certificate files), and says what is wrong or what
     * would be warned about. Exit 0 when {@code serve} would start with it.
     */
    @Command(name = "configtest", description = "Test the configuration and exit")
    static final class ConfigTest extends ControlCli.Sub implements Callable<Integer> {
        @Override
        public Integer call() {
            ControlCli root = root();
            ControlConfig c = root.config();
            if (c.dns().extraRecordsPath() != null) {
                // Read as serve reads it at start (a missing or malformed file stops it).
                try (ExtraRecordsWatcher w = ExtraRecordsWatcher.open(c.dns().extraRecordsPath())) {
                    w.records();
                } catch (RuntimeException e) {
                    throw new CliException("configuration error: " + e.getMessage());
                }
            }
            if (c.policy().mode() == ControlConfig.PolicyMode.FILE && c.policy().path() != null) {
                try {
                    String text = PolicyCommand.read(c.policy().path());
                    dev.lattice.control.policy.PolicyParser.parse(text);
                } catch (CliException e) {
                    throw new CliException("configuration error: policy.path: " + e.getMessage());
                } catch (dev.lattice.control.policy.PolicyException e) {
                    throw new CliException("configuration error: policy.path: " + c.policy().path() + ": " + e.getMessage());
                }
            }
            if (c.tls().enabled()) {
                for (var p : java.util.List.of(c.tls().certPath(), c.tls().keyPath())) {
                    if (!Files.isReadable(p)) throw new CliException("configuration error: cannot read TLS file " + p);
                }
            }
            for (String k : c.unsupportedKeys()) root.err.println("warning: config key " + k + " is accepted but not implemented by Lattice");
            for (String w : c.warnings()) root.err.println("warning: " + w);
            root.out.println("configuration is valid");
            return 0;
        }
    }

    @Command(name = "health", description = "Check the health of the running server (exit 1 when unhealthy)")
    static final class Health extends ControlCli.Sub implements Callable<Integer> {
        @Override
        public Integer call() {
            JsonNode r = client().get("/api/v1/health");
            boolean ok = r.get("databaseConnectivity") != null && r.get("databaseConnectivity").asBoolean();
            output().raw(Output.toGo(r), ok ? "healthy: the database answers" : "unhealthy: the database does not answer");
            return ok ? 0 : 1;
        }
    }

    @Command(name = "generate", aliases = "gen", description = "Generate commands", subcommands = GeneratePrivateKey.class)
    static final class Generate {
    }

    @Command(name = "private-key", description = "Generate a private key for the server (noise.private_key_path format)")
    static final class GeneratePrivateKey extends ControlCli.Sub implements Callable<Integer> {
        @Override
        public Integer call() {
            String key = MachinePrivateKey.generate().toText();
            output().raw(JsonNodeFactory.instance.objectNode().put("private_key", key), key);
            return 0;
        }
    }
}
