package dev.lattice.bench.control;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU and memory of another process, from /proc (and jcmd for a JVM's heap). */
final class ProcStats {
    private ProcStats() {}

    /** utime + stime of the process and its threads, in ms (assumes 100 clock ticks per second, as Linux x86). */
    static long cpuMillis(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10;
    }

    static long rssBytes(long pid) throws IOException {
        return status(pid, "VmRSS:");
    }

    /** The most RSS the process ever had (its high-water mark). */
    static long peakRssBytes(long pid) throws IOException {
        return status(pid, "VmHWM:");
    }

    private static long status(long pid, String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith(field)) return Long.parseLong(l.replaceAll("\\D+", "")) * 1024;
        }
        return -1;
    }

    private static boolean isJava(long pid) throws IOException {
        return Files.readString(Path.of("/proc/" + pid + "/cmdline")).contains("java");
    }

    static void gc(long pid) throws Exception {
        if (isJava(pid)) run(jcmd(), Long.toString(pid), "GC.run");
    }

    /** Used heap after the last GC for a JVM (jcmd GC.heap_info), else -1. */
    static long heapUsedBytes(long pid) throws Exception {
        if (!isJava(pid)) return -1;
        String out = run(jcmd(), Long.toString(pid), "GC.heap_info");
        // one line per generation (Serial: DefNew and Tenured; G1: one for the heap), not indented; the indented
        // lines are their spaces, and Metaspace is not heap
        var used = java.util.regex.Pattern.compile("used (\\d+)K");
        long sum = -1;
        for (String l : out.split("\n")) {
            if (l.isEmpty() || l.startsWith(" ") || l.contains("Metaspace") || l.contains("class space")) continue;
            var m = used.matcher(l);
            if (m.find()) sum = Math.max(sum, 0) + Long.parseLong(m.group(1)) * 1024;
        }
        return sum;
    }

    /** A JVM's Native Memory Tracking summary, or null when it is not a JVM or runs without NMT. */
    static String nativeMemory(long pid) throws Exception {
        if (!isJava(pid)) return null;
        String out = run(jcmd(), Long.toString(pid), "VM.native_memory", "summary");
        return out.contains("Total: reserved") ? out : null;
    }

    private static String jcmd() {
        return Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return out;
    }
}
