package dev.lattice.wireguard.interop;

import static dev.lattice.wireguard.interop.WgImpl.LATTICE;
import static dev.lattice.wireguard.interop.WgImpl.UPSTREAM;
import static dev.lattice.wireguard.interop.WgImpl.WIREGUARD_GO;

import dev.lattice.testlab.Support;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Which implementation runs on host A and which on host B. */
record WgPair(WgImpl a, WgImpl b) {

    /**
     * The pairs every scenario runs for. wireguard-go↔wireguard-go comes first: it is the baseline that proves
     * the harness. Pairs whose binaries are missing are still listed, and skipped with a message.
     */
    static Stream<WgPair> standard() {
        return selected(Stream.of(
                new WgPair(WIREGUARD_GO, WIREGUARD_GO),
                new WgPair(LATTICE, LATTICE),
                new WgPair(LATTICE, WIREGUARD_GO),
                new WgPair(WIREGUARD_GO, LATTICE),
                new WgPair(UPSTREAM, UPSTREAM),
                new WgPair(LATTICE, UPSTREAM),
                new WgPair(UPSTREAM, LATTICE)));
    }

    /**
     * Narrows a list of pairs to those named in system property {@code lattice.interop.pairs} or env
     * {@code LATTICE_INTEROP_PAIRS}, e.g. {@code wireguard-go:lattice-wg,lattice-wg:lattice-wg} (A:B); unset
     * means all.
     */
    static Stream<WgPair> selected(Stream<WgPair> pairs) {
        String sel = System.getProperty("lattice.interop.pairs", System.getenv("LATTICE_INTEROP_PAIRS"));
        if (sel == null || sel.isBlank()) {
            return pairs;
        }
        List<String> wanted = List.of(sel.strip().split("\\s*,\\s*"));
        return pairs.filter(p -> wanted.contains(p.a().displayName() + ":" + p.b().displayName()));
    }

    /**
     * The pairs of the 135 s rekey test: lattice↔lattice and lattice↔wireguard-go (lattice initiates, so it must
     * rekey). With env {@code LATTICE_INTEROP_REKEY_BASELINE=1} also wireguard-go↔wireguard-go, to check the
     * test itself; they all run concurrently, so this costs no wall-clock time.
     */
    static List<WgPair> rekey() {
        List<WgPair> pairs = new ArrayList<>(List.of(new WgPair(LATTICE, LATTICE), new WgPair(LATTICE, WIREGUARD_GO)));
        if ("1".equals(System.getenv("LATTICE_INTEROP_REKEY_BASELINE"))) {
            pairs.addFirst(new WgPair(WIREGUARD_GO, WIREGUARD_GO));
        }
        return selected(pairs.stream()).toList();
    }

    Support availability() {
        return a.availability().and(b.availability());
    }

    @Override
    public String toString() {
        return "A=" + a + " B=" + b;
    }
}
