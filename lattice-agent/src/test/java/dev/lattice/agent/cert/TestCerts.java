package dev.lattice.agent.cert;

import java.io.StringWriter;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.shredzone.acme4j.util.KeyPairUtils;

/** Self-signed certificates with chosen validity, for the store and renewal tests. */
final class TestCerts {
    private TestCerts() {}

    static KeyPair key() {
        new CertStore(java.nio.file.Path.of("/nonexistent")); // registers BC, as the daemon's store does
        return KeyPairUtils.createECKeyPair("secp256r1");
    }

    static X509Certificate cert(KeyPair key, String cn, Instant from, Instant to) throws Exception {
        X500Name name = new X500Name("CN=" + cn);
        var b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(from.toEpochMilli()), Date.from(from), Date.from(to), name,
                key.getPublic());
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
    }

    static String pem(X509Certificate c) throws Exception {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(c);
        }
        return w.toString();
    }
}
