#!/usr/bin/env python3
"""results2svg.py - turn perf/out/results.csv (written by perf/compare) into a
self-contained SVG chart: for each workload and worker count, one bar per
implementation (median ms, log scale), braid highlighted, and braid's
speed-up from 1 worker to all workers.

Usage: results2svg.py results.csv out.svg
"""
import collections
import csv
import math
import statistics
import sys
from xml.sax.saxutils import escape

TWINS = {"serial-c", "serial-c++", "call", "ctx-swap"}
SKIP = {"sleeps-lateness", "sleeps-lateness-p99", "sleeps-rss", "switch", "spawn-await"}


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    cells = collections.defaultdict(list)
    with open(sys.argv[1]) as f:
        for r in csv.DictReader(f):
            if r["name"] in SKIP or r["impl"] in TWINS:
                continue
            if r.get("status", "ok") != "ok":  # out of memory, timed out: no bar
                continue
            cells[(r["name"], int(r["workers"]), r["impl"])].append(float(r["median_ms"]))
    groups = collections.defaultdict(dict)
    for (name, w, impl), v in cells.items():
        groups[(name, w)][impl] = statistics.median(v)
    if not groups:
        print("results2svg: no rows", file=sys.stderr)
        return 1
    vals = [v for g in groups.values() for v in g.values() if v > 0]
    lo, hi = math.log10(min(vals)) - 0.2, math.log10(max(vals)) + 0.1
    left, bar_w, row_h, top = 230, 620, 15, 40
    out, yy = [], top
    body = []
    for (name, w) in sorted(groups):
        g = groups[(name, w)]
        body.append('<text x="10" y="%d" font-weight="bold">%s, %d worker%s</text>'
                    % (yy + 12, escape(name), w, "s" if w > 1 else ""))
        yy += 18
        for impl, v in sorted(g.items(), key=lambda kv: kv[1]):
            length = (math.log10(v) - lo) / (hi - lo) * bar_w if v > 0 else 1
            fill = "#d62" if impl.startswith("braid") else "#79b"
            body.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                        '<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>'
                        '<text x="%.1f" y="%d">%.1f ms</text>'
                        % (left - 6, yy + 11, escape(impl), left, yy, max(length, 1), row_h - 3,
                           fill, left + max(length, 1) + 4, yy + 11, v))
            yy += row_h
        yy += 8
    speed = []
    for (name, w), g in sorted(groups.items()):
        if w > 1 and (name, 1) in groups and "braid" in g and "braid" in groups[(name, 1)]:
            speed.append("%s %.2fx" % (name, groups[(name, 1)]["braid"] / g["braid"]))
    out.append('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
               'font-family="sans-serif" font-size="12">' % (left + bar_w + 90, yy + 40))
    out.append('<rect width="100%" height="100%" fill="white"/>')
    out.append('<text x="10" y="22" font-size="14">braid (orange) beside its peers: median ms, '
               'log scale, shorter is faster</text>')
    out.extend(body)
    out.append('<text x="10" y="%d" fill="#555">braid speed-up, 1 worker to all: %s</text>'
               % (yy + 20, escape(", ".join(speed))))
    out.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
    print("results2svg: %s: %d groups" % (sys.argv[2], len(groups)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
