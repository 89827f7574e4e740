package dev.lattice.wire.derp;

import java.util.HexFormat;

/**
 * Bytes produced by tailscale v1.102.3's Go code ({@code derp.NewClient}, {@code derp.WriteFrame},
 * {@code key.NodePrivate.SealTo}) with private keys 0x11×32 (client) and 0x22×32 (server) and mesh key
 * 6d529e9d…c8d8. The boxes carry random nonces, so they are checked by opening, not by re-encoding.
 */
final class GoVectors {
    static final byte[] CLIENT_PRIVATE = filled(0x11);
    static final byte[] SERVER_PRIVATE = filled(0x22);
    static final String CLIENT_PUBLIC = "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13";
    static final String SERVER_PUBLIC = "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20";
    static final String MESH_KEY = "6d529e9d4ef632d22d4a4214cb49da8f1ba1b72697061fb24e312984c35ec8d8";
    static final byte[] SERVER_KEY_FRAME = hex(
            "010000002844455250f09f94910faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20");
    /** What derp.NewClient(MeshKey, CanAckPings(true)) wrote after reading the ServerKey frame. */
    static final byte[] CLIENT_INFO_FRAME = hex(
            "02000000b57b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f1362a293405233ecbd94045f3cfd50"
            + "5a55b19a98baa788466d121f0c1a30d95a70f6fbbe698f308d21aecd41c9ab2d48254e0aed2a532dd562fc98374adfe1e25447"
            + "ffbfc04f89d8f6aac2703943137a34d0c353b99a6c5486a83779fb14b49771c75e0be5836b2aa27d86e2f7f463dbf29b1a5c0f"
            + "7b6936c07d40c61697e57f074ab2fd8806c177e8918dd30f82523dded92b96a0f9");
    /** Server.SealTo(client, {"version":2}). */
    static final byte[] SERVER_INFO_PAYLOAD = hex(
            "902b5c4543a9839dea236b992c8056db1638b1ecbeb8fa458452c1c4c62a6a94bec701bc506ae66be00421538215f3fe2ebcffd136");

    private GoVectors() {}

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }

    private static byte[] filled(int v) {
        byte[] b = new byte[32];
        java.util.Arrays.fill(b, (byte) v);
        return b;
    }
}
