package dev.lattice.crypto.noise;

import java.util.List;

/**
 * Test data only: the {@code *_25519_ChaChaPoly_BLAKE2s} entries for NN, XX, IK and IKpsk2 of the cacophony
 * Noise test vectors (haskell-cryptography/cacophony), as shipped in mcginty/snow {@code tests/vectors/cacophony.txt}
 * (commit 2fcd3e2d). All values hex. Messages alternate initiator, responder; those after the handshake are transport
 * messages with empty associated data.
 */
final class NoiseVectors {
    private NoiseVectors() {}

    record Message(String payload, String ciphertext) {}

    record Vector(
            NoisePattern pattern,
            String prologue,
            String psk,
            String initStatic,
            String initEphemeral,
            String initRemoteStatic,
            String respStatic,
            String respEphemeral,
            String handshakeHash,
            List<Message> messages) {}

    static final Vector NN = new Vector(
            NoisePattern.NN,
            "4a6f686e2047616c74",
            null,
            null,
            "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
            null,
            null,
            "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
            "a621e3943a29c1d984b43727697fbec096107d0b569031ac7e0f1131de19f4f4",
            List.of(
                    new Message("4c756477696720766f6e204d69736573",
                            "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944" +
                            "4c756477696720766f6e204d69736573"),
                    new Message("4d757272617920526f746862617264",
                            "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843" +
                            "ff34a6759d06e7733c83aeb5556c15bc762b664b3ba0556b1e7eaea4168bb6"),
                    new Message("462e20412e20486179656b",
                            "79285da88da3535f52b07b70006c85706de7ddb1fd3dddac995b7e"),
                    new Message("4361726c204d656e676572",
                            "ffdad3a7f0db4c39077f223659c5c1d107666405566ecdf4ab53bf"),
                    new Message("4a65616e2d426170746973746520536179",
                            "2b9801f5084b9a7e9df57382fb4af099a63cd8ff97bc3284c4c5f28994be58ae" +
                            "46"),
                    new Message("457567656e2042f6686d20766f6e2042617765726b",
                            "6c94a97c5de175c870fb9e8d5c50c59d20752b0695baf24e151011ee46a184a6" +
                            "5b444e9d97")));

    static final Vector IK = new Vector(
            NoisePattern.IK,
            "4a6f686e2047616c74",
            null,
            "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
            "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
            "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62",
            "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
            "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
            "48f3cb8bc9319da4ba1e9933991b1c4ed4034f1f126a76d3a1fbcfd7f94248d4",
            List.of(
                    new Message("4c756477696720766f6e204d69736573",
                            "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944" +
                            "0b03ddc7aac5123d06a1b23b71670e32e76c28239a7ca4ac8f784de7e44c1adb" +
                            "fc6e83fef7352a58d9d56157400c0a737b1d171ce368229c7b752ac25b8faf4e" +
                            "ca690f6d896f543be02c996ab2b86b76"),
                    new Message("4d757272617920526f746862617264",
                            "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843" +
                            "d9b5a8927f0ac9655ef76833bc7e5561f42e691ac8404efd6fbd6308b6a27c"),
                    new Message("462e20412e20486179656b",
                            "2c256ed08fcd08c2980f954ee4beaccb61c9581340f5dd2fd1cf3b"),
                    new Message("4361726c204d656e676572",
                            "d6033f70eee20945c7c9dba304e397ee3b284ff5e00fd9efb095d3"),
                    new Message("4a65616e2d426170746973746520536179",
                            "a9c068ca5d8babf72560652d8e851adbfac35c8a66e810d560863173e96adf4c" +
                            "fe"),
                    new Message("457567656e2042f6686d20766f6e2042617765726b",
                            "2a09d8f459e5927e40fdd2eddc99bdafb04e13a26f145cb5cfe9e6ba34c94331" +
                            "ebc17d5156")));

    static final Vector XX = new Vector(
            NoisePattern.XX,
            "4a6f686e2047616c74",
            null,
            "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
            "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
            null,
            "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
            "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
            "6c4c56cf71612f72d05ceb96c0155e6f4ea54a26b504c93de632a2db4a49d200",
            List.of(
                    new Message("4c756477696720766f6e204d69736573",
                            "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944" +
                            "4c756477696720766f6e204d69736573"),
                    new Message("4d757272617920526f746862617264",
                            "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843" +
                            "7c365eb362a1c991b0557fe8a7fb187d99346765d93ec63db6c1b01504ebeec5" +
                            "5a2298d2dbff80eff034d20595153f63a196a6cead1e11b2bb13e336fa13616d" +
                            "d3e8b0a070c882ed3f1a78c7c06c93"),
                    new Message("462e20412e20486179656b",
                            "46c3307de83b014258717d97781c1f50936d8b7d50c0722a1739654d10392d41" +
                            "5b670c114f79b9a4f80541570f77ce88802efa4220cff733e7b5668ba38059ec" +
                            "904b4b8eef9448085faf51"),
                    new Message("4361726c204d656e676572",
                            "d5e83adfaac5dc324a68f1862df54549e56d209fba707205f328b2"),
                    new Message("4a65616e2d426170746973746520536179",
                            "d102c9029b1f55c788f561ba7737afbccef9c9f1bf2f238167fd40ba9c1c1348" +
                            "67"),
                    new Message("457567656e2042f6686d20766f6e2042617765726b",
                            "cb1ce80960382c6d5d5e740ffb724d1432f0310b200fb6f8424120f506092744" +
                            "baa415e155")));

    static final Vector IKpsk2 = new Vector(
            NoisePattern.IKpsk2,
            "4a6f686e2047616c74",
            "54686973206973206d7920417573747269616e20706572737065637469766521",
            "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
            "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
            "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62",
            "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
            "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
            "f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5",
            List.of(
                    new Message("4c756477696720766f6e204d69736573",
                            "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944" +
                            "001e21de9f98ddd8e2ad57527207feb56253c9c94a9e496782ecfcb2a75fbcaf" +
                            "1b52948cc48daefe660c62119ab5000980c84831215f2441eba616548e832985" +
                            "464cf17e51ee93109008399a21f7e13f"),
                    new Message("4d757272617920526f746862617264",
                            "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843" +
                            "cb765f2caef0751b8f007572dab0322217755c0632f365717edbf34d33e87a"),
                    new Message("462e20412e20486179656b",
                            "8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7"),
                    new Message("4361726c204d656e676572",
                            "07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef"),
                    new Message("4a65616e2d426170746973746520536179",
                            "6ab1467c0448cc78394494abaaf23afce0e234315d6e2624dcbfa8a21c1c4d07" +
                            "3d"),
                    new Message("457567656e2042f6686d20766f6e2042617765726b",
                            "dfc346c0d2296ae6cf1acf6f12b8456a1dba228cf8d8b774aacf1c47fc53aa80" +
                            "ebc7a4c292")));
}
