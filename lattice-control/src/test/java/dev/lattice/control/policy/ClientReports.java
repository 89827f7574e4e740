package dev.lattice.control.policy;

import java.util.List;

/**
 * What real clients report in their map requests, for benchmarks: a Hostinfo as tailscaled 1.9x on Linux sends it
 * (about 1 KB, with NetInfo and DERP latencies; different per node) and two endpoints. Plain text, so that a
 * benchmark gives every version of the server the same input.
 */
final class ClientReports {
    private ClientReports() {}

    static String hostinfoJson(long id, String hostname) {
        String logId = Long.toHexString(0x9e3779b97f4a7c15L * (id + 1)) + Long.toHexString(0xc2b2ae3d27d4eb4fL * (id + 7));
        return "{\"IPNVersion\":\"1.92.3-t2a5c1f83e-g3b0f2a1c9\",\"FrontendLogID\":\"" + logId + "f\",\"BackendLogID\":\""
                + logId + "\",\"OS\":\"linux\",\"OSVersion\":\"6.8.0-49-generic\",\"Distro\":\"ubuntu\","
                + "\"DistroVersion\":\"24.04\",\"DistroCodeName\":\"noble\",\"Desktop\":false,\"Package\":\"tarball\","
                + "\"Hostname\":\"" + hostname + "\",\"Machine\":\"x86_64\",\"GoArch\":\"amd64\",\"GoArchVar\":\"v1\","
                + "\"GoVersion\":\"go1.25.5\",\"Services\":[{\"Proto\":\"peerapi4\",\"Port\":" + (40000 + id % 20000) + "},"
                + "{\"Proto\":\"peerapi6\",\"Port\":" + (40000 + id % 20000) + "},{\"Proto\":\"peerapi-dns-proxy\",\"Port\":1}],"
                + "\"NetInfo\":{\"MappingVariesByDestIP\":false,\"WorkingIPv6\":false,\"OSHasIPv6\":true,\"WorkingUDP\":true,"
                + "\"WorkingICMPv4\":true,\"HavePortMap\":false,\"UPnP\":false,\"PMP\":false,\"PCP\":false,"
                + "\"PreferredDERP\":" + (1 + id % 20) + ",\"LinkType\":\"wired\",\"DERPLatency\":{\"1-v4\":0.0" + (10 + id % 80)
                + ",\"2-v4\":0.04" + id % 10 + ",\"9-v4\":0.1" + id % 97 + ",\"17-v4\":0.08" + id % 7 + "},"
                + "\"FirewallMode\":\"ipt-default\"},\"Userspace\":false,\"UserspaceRouter\":false,\"AppConnector\":false,"
                + "\"ServicesHash\":\"" + logId.substring(0, 16) + "\",\"StateEncrypted\":false}";
    }

    static List<String> endpoints(long id) {
        return List.of("203.0." + (id >> 8 & 0xff) + "." + (id & 0xff) + ":41641", "10.1." + (id >> 8 & 0xff) + "."
                + (id & 0xff) + ":41641");
    }
}
