package dev.lattice.bench.micro;

import dev.lattice.crypto.ChaChaPolyInPlace;
import dev.lattice.crypto.IntrinsicChaChaPoly;
import java.security.GeneralSecurityException;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A WireGuard transport message's seal and open, in place, as the data path does them: the JDK's ChaCha20-Poly1305
 * (initialised per packet, as {@code Cipher} requires) against {@link ChaChaPolyInPlace} (scalar Java) and
 * {@link IntrinsicChaChaPoly} (the JDK's kernels without its Cipher). 64 bytes is a TCP ACK, 1424 a full segment at
 * WireGuard's 1420 MTU (padded to 16). The fork opens what lattice.jar's manifest opens. Open copies the sealed message back first (both
 * sides), since it decrypts in place.
 *
 * <pre>java -cp "$(cat lattice-bench/target/classpath)" org.openjdk.jmh.Main TransportAeadBench -prof gc</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseSerialGC", "-Xms16m",
        "--add-opens=java.base/com.sun.crypto.provider=ALL-UNNAMED", "--add-opens=java.base/sun.security.util.math=ALL-UNNAMED",
        "--add-opens=java.base/sun.security.util.math.intpoly=ALL-UNNAMED"})
public class TransportAeadBench {
    @Param({"64", "256", "512", "1424"})
    int len;

    private final byte[] buf = new byte[2048];
    private byte[] sealedJdk;
    private byte[] sealedOurs;
    private long counter;
    private SecretKeySpec jdkKey;
    private int[] ourKey;
    private Cipher enc;
    private Cipher dec;
    private final byte[] nonce = new byte[12];
    private final ChaChaPolyInPlace ours = new ChaChaPolyInPlace();
    private IntrinsicChaChaPoly intrinsic;

    @Setup
    public void setup() throws GeneralSecurityException {
        SplittableRandom rnd = new SplittableRandom(42);
        byte[] key = new byte[32];
        rnd.nextBytes(key);
        rnd.nextBytes(buf);
        jdkKey = new SecretKeySpec(key, "ChaCha20");
        ourKey = ChaChaPolyInPlace.key(key);
        if (!IntrinsicChaChaPoly.available()) throw new IllegalStateException(IntrinsicChaChaPoly.unavailableReason());
        intrinsic = new IntrinsicChaChaPoly();
        enc = Cipher.getInstance("ChaCha20-Poly1305");
        dec = Cipher.getInstance("ChaCha20-Poly1305");
        sealedOurs = new byte[len + 16];
        System.arraycopy(buf, 0, sealedOurs, 0, len);
        ours.seal(ourKey, 7, sealedOurs, 0, len);
        sealedJdk = sealedOurs.clone();
    }

    private IvParameterSpec nonce(long c) {
        for (int i = 0; i < 8; i++) nonce[4 + i] = (byte) (c >>> (8 * i));
        return new IvParameterSpec(nonce);
    }

    @Benchmark
    public int sealJdk() throws GeneralSecurityException {
        enc.init(Cipher.ENCRYPT_MODE, jdkKey, nonce(++counter)); // a nonce never repeats, as on the wire
        return enc.doFinal(buf, 0, len, buf, 0);
    }

    @Benchmark
    public int sealOurs() {
        return ours.seal(ourKey, ++counter, buf, 0, len);
    }

    @Benchmark
    public int openJdk() throws GeneralSecurityException {
        System.arraycopy(sealedJdk, 0, buf, 0, len + 16);
        dec.init(Cipher.DECRYPT_MODE, jdkKey, nonce(7));
        return dec.doFinal(buf, 0, len + 16, buf, 0);
    }

    @Benchmark
    public int openOurs() {
        System.arraycopy(sealedOurs, 0, buf, 0, len + 16);
        int n = ours.open(ourKey, 7, buf, 0, len + 16);
        if (n != len) throw new IllegalStateException("open failed");
        return n;
    }

    @Benchmark
    public int sealIntrinsic() {
        return intrinsic.seal(ourKey, ++counter, buf, 0, len);
    }

    @Benchmark
    public int openIntrinsic() {
        System.arraycopy(sealedOurs, 0, buf, 0, len + 16);
        int n = intrinsic.open(ourKey, 7, buf, 0, len + 16);
        if (n != len) throw new IllegalStateException("open failed");
        return n;
    }
}
