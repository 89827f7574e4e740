package dev.lattice.agent.cert;

/** A certificate chain and its private key, both PEM, as tailscale's {@code TLSCertKeyPair}. */
public record CertPair(String certPem, String keyPem) {
    @Override
    public String toString() {
        return "CertPair[" + certPem.length() + " bytes of certificates, key redacted]";
    }
}
