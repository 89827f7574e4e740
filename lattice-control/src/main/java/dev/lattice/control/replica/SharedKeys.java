package dev.lattice.control.replica;

import dev.lattice.control.config.ConfigException;
import dev.lattice.control.config.KeyFiles;
import dev.lattice.control.store.ServerKeys;
import dev.lattice.control.store.Store;
import dev.lattice.crypto.key.MachinePrivateKey;
import dev.lattice.crypto.key.NodePrivateKey;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's private keys when replicas share a PostgreSQL database: kept in the database ({@link ServerKeys}), so
 * a client that fetched {@code /key} from one replica completes its ts2021 handshake on another, and the embedded
 * DERP servers share one identity. The first replica to start stores them; a key file that exists (an upgraded
 * single-server deployment, or a key set by hand) is what it stores, and on every later start a key file must hold
 * the same key as the database or the server refuses to start. Without a file nothing is written to disk.
 */
public final class SharedKeys {
    private static final Logger log = LoggerFactory.getLogger(SharedKeys.class);

    private SharedKeys() {}

    /** The Noise key ({@code noise.private_key_path} names the optional file). */
    public static MachinePrivateKey noiseKey(Store store, Path file) {
        return shared(store, ServerKeys.NOISE, "noise.private_key_path", file, KeyFiles::loadMachineKey,
                MachinePrivateKey::generate, MachinePrivateKey::parse, MachinePrivateKey::toText);
    }

    /** The embedded DERP server's key ({@code derp.server.private_key_path} names the optional file). */
    public static NodePrivateKey derpKey(Store store, Path file) {
        return shared(store, ServerKeys.DERP, "derp.server.private_key_path", file, KeyFiles::loadNodeKey,
                NodePrivateKey::generate, NodePrivateKey::parse, NodePrivateKey::toText);
    }

    private static <K> K shared(Store store, String name, String configKey, Path file, Function<Path, Optional<K>> load,
            Supplier<K> generate, Function<String, K> parse, Function<K, String> text) {
        Optional<K> fromFile = file == null ? Optional.empty() : load.apply(file);
        K candidate = fromFile.orElseGet(generate);
        String stored = store.serverKeys().getOrInsert(name, text.apply(candidate));
        K key;
        try {
            key = parse.apply(stored.strip());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("the " + name + " key stored in the database (table server_keys) is malformed: "
                    + e.getMessage());
        }
        // Key records compare in constant time.
        if (fromFile.isPresent() && !fromFile.get().equals(key)) {
            throw new ConfigException(configKey + " " + file + " holds a different key than the one the replicas share in"
                    + " the database (table server_keys); remove the file to use the database's key");
        }
        if (key.equals(candidate)) {
            log.info("{} private key {} stored in the database, shared by every replica", name,
                    fromFile.isPresent() ? "from " + file : "generated and");
        }
        return key;
    }
}
