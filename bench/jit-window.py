#!/usr/bin/env python3
"""jit-window.py LOG T0 [SECONDS]: what HotSpot's JIT did around a moment, from a -XX:+LogCompilation file.

Prints the compile tasks' time that overlaps [T0, T0 + SECONDS] (default 1 s; T0 in seconds since the epoch, as
`date +%s.%N` gives it), the longest tasks first, and every uncommon trap (a deoptimisation, then a recompile) from
half a second before T0 to its end, with method and bytecode index. agent-footprint.sh -J calls it for both latticed
with the start of the cold transfer: what a first transfer still pays for that the loopback warm-up did not compile.
"""
import re
import sys


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[0])
    path, t0 = sys.argv[1], float(sys.argv[2])
    span = float(sys.argv[3]) if len(sys.argv) == 4 else 1.0
    lines = open(path, errors="replace").read().split("\n")
    start = None  # the log's time origin, ms since the epoch
    task = None
    tasks, traps = [], []
    for i, line in enumerate(lines):
        if start is None:
            m = re.search(r"<hotspot_log [^>]*time_ms='(\d+)'", line)
            if m:
                start = int(m.group(1)) / 1000
            continue
        m = re.match(r"<task (?:.*?)method='([^']+)'(?:.*?)stamp='([\d.]+)'", line)
        if m:
            level = re.search(r"level='(\d)'", line)
            task = (m.group(1) + (" OSR" if " osr_bci=" in line else ""), level.group(1) if level else "4",
                    start + float(m.group(2)))
            continue
        m = re.match(r"<task_done (?:.*?)stamp='([\d.]+)'", line)
        if m and task:
            method, level, begin = task
            end = start + float(m.group(1))
            task = None
            overlap = min(end, t0 + span) - max(begin, t0)
            if overlap > 0:
                tasks.append((overlap, end - begin, level, begin - t0, method))
            continue
        if line.startswith("<uncommon_trap thread=") and "stamp='" in line:
            at = start + float(re.search(r"stamp='([\d.]+)'", line).group(1)) - t0
            if -0.5 <= at <= span:
                reason = re.search(r"reason='([^']+)'", line)
                # the next line is the innermost frame: <jvms bci='47' method='...'/>
                frame = lines[i + 1] if i + 1 < len(lines) else ""
                bci = re.search(r"bci='(\d+)'", frame)
                method = re.search(r"method='([^']+)'", frame)
                traps.append("%+.3f s %s %s bci %s" % (at, reason.group(1) if reason else "?",
                                                       method.group(1)[:100] if method else "?", bci.group(1) if bci else "?"))
    if start is None:
        sys.exit(path + ": not a -XX:+LogCompilation file")
    print("%s: compile time in the %g s from T0: %.0f ms in %d tasks; %d uncommon traps from T0 - 0.5 s"
          % (path, span, 1000 * sum(t[0] for t in tasks), len(tasks), len(traps)))
    for overlap, length, level, begin, method in sorted(tasks, reverse=True)[:12]:
        print("  %4.0f ms (task %4.0f ms, tier %s, from %+.2f s) %s" % (1000 * overlap, 1000 * length, level, begin,
                                                                     method[:110]))
    for t in traps:
        print("  trap " + t)


if __name__ == "__main__":
    main()
