package dev.lattice.agent.cli;

import dev.lattice.agent.ipn.NetcheckReport;
import dev.lattice.wire.tailcfg.DERPMap;
import dev.lattice.wire.tailcfg.DERPRegion;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** {@code tailscale netcheck}'s report layout ({@code printNetCheckReport} in {@code cli/netcheck.go}). */
final class NetcheckFormat {
    /** tstime.DateSpTimeNanoZ, "2006-01-02 15:04:05.999999999Z07:00". */
    static final DateTimeFormatter TIME = new DateTimeFormatterBuilder()
            .appendPattern("uuuu-MM-dd HH:mm:ss")
            .appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true)
            .appendOffset("+HH:MM", "Z")
            .toFormatter();

    private NetcheckFormat() {}

    static String report(NetcheckReport r, DERPMap dm, ZonedDateTime now, boolean verbose) {
        StringBuilder o = new StringBuilder("\nReport:\n");
        o.append("\t* Time: ").append(TIME.format(now)).append('\n');
        o.append("\t* UDP: ").append(r.udp()).append('\n');
        if (present(r.globalV4())) o.append("\t* IPv4: yes, ").append(r.globalV4()).append('\n');
        else o.append("\t* IPv4: (no addr found)\n");
        if (present(r.globalV6())) o.append("\t* IPv6: yes, ").append(r.globalV6()).append('\n');
        else if (r.ipv6()) o.append("\t* IPv6: (no addr found)\n");
        else o.append("\t* IPv6: no, unavailable in OS\n");
        // Go prints an unset opt.Bool as the empty string.
        o.append("\t* MappingVariesByDestIP: ")
                .append(r.mappingVariesByDestIp() == null ? "" : r.mappingVariesByDestIp().toString()).append('\n');
        o.append("\t* PortMapping: not checked\n");

        Map<Integer, Double> lat = r.regionLatencySeconds() == null ? Map.of() : r.regionLatencySeconds();
        Map<Integer, DERPRegion> regions = dm == null || dm.regions() == null ? Map.of() : dm.regions();
        if (lat.isEmpty()) {
            o.append("\t* Nearest DERP: unknown (no response to latency probes)\n");
            return o.toString();
        }
        if (r.preferredDerp() != 0) {
            DERPRegion pref = regions.get(r.preferredDerp());
            if (pref != null) o.append("\t* Nearest DERP: ").append(StatusFormat.nz(pref.regionName())).append('\n');
            else o.append("\t* Nearest DERP: ").append(r.preferredDerp()).append(" (region not found in map)\n");
        } else {
            o.append("\t* Nearest DERP: [none]\n");
        }
        o.append("\t* DERP latency:\n");
        // Without a DERP map (older daemon) list the measured regions by id rather than nothing.
        List<Integer> rids = new ArrayList<>(regions.isEmpty() ? new TreeSet<>(lat.keySet()) : regions.keySet());
        rids.sort((a, b) -> {
            Double l1 = lat.get(a);
            Double l2 = lat.get(b);
            if ((l1 == null) != (l2 == null)) return l1 != null ? -1 : 1;
            if (l1 == null) return Integer.compare(a, b);
            return Double.compare(l1, l2);
        });
        for (int rid : rids) {
            Double sec = lat.get(rid);
            String latency = sec == null ? "" : GoDuration.format(GoDuration.round(
                    Duration.ofNanos(Math.round(sec * 1e9)), Duration.ofNanos(100_000)));
            DERPRegion reg = regions.get(rid);
            String code = reg == null ? "" : StatusFormat.nz(reg.regionCode());
            String name = reg == null ? "derp" + rid : StatusFormat.nz(reg.regionName());
            String derpNum = verbose ? "derp" + rid + ", " : "";
            o.append(String.format("\t\t- %3s: %-7s (%s%s)\n", code, latency, derpNum, name));
        }
        return o.toString();
    }

    private static boolean present(String addr) {
        return addr != null && !addr.isEmpty() && !addr.equals("invalid IP");
    }
}
