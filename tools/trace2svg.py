#!/usr/bin/env python3
"""trace2svg.py - turn a braid trace (Chrome Trace Event JSON, as written by
BRAID_TRACE / braid_rt_opts.trace_path) into a self-contained SVG timeline:
one lane per worker, task slices coloured by task, parks in grey, steals as
arrows from the victim's lane to the thief's, timer batches as ticks.

Usage: trace2svg.py trace.json out.svg [--width PIXELS]
"""
import argparse
import json
import sys
from xml.sax.saxutils import escape

LANE_H, GAP, LEFT, TOP = 34, 14, 90, 40


def colour(key):
    h = (hash(key) * 2654435761) % 360
    return "hsl(%d,65%%,55%%)" % h


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("out")
    ap.add_argument("--width", type=int, default=1400)
    a = ap.parse_args()
    with open(a.trace) as f:
        ev = json.load(f)["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in ev
             if e["ph"] == "M" and e.get("name") == "thread_name"}
    tids = sorted(names)
    if not tids:
        print("trace2svg: no worker lanes in %s" % a.trace, file=sys.stderr)
        return 1
    ts = [e["ts"] for e in ev if "ts" in e]
    t0, t1 = (min(ts), max(ts)) if ts else (0.0, 1.0)
    span = max(t1 - t0, 1e-3)
    width = a.width - LEFT - 20

    def x(t):
        return LEFT + (t - t0) / span * width

    def y(tid):
        return TOP + tids.index(tid) * (LANE_H + GAP)

    out = []
    height = TOP + len(tids) * (LANE_H + GAP) + 30
    out.append('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
               'font-family="sans-serif" font-size="12">' % (a.width, height))
    out.append('<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" '
               'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#c00"/></marker></defs>')
    out.append('<rect width="100%" height="100%" fill="white"/>')
    out.append('<text x="%d" y="20">braid trace: %.1f ms, %d workers</text>'
               % (LEFT, span / 1000.0, len(tids)))
    for tid in tids:
        out.append('<text x="8" y="%d">%s</text>' % (y(tid) + LANE_H / 2 + 4, escape(names[tid])))
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="#f4f4f4"/>'
                   % (LEFT, y(tid), width, LANE_H))
    stacks = {tid: [] for tid in tids}
    slices = 0
    for e in ev:
        tid = e.get("tid")
        if tid not in stacks:
            continue
        if e["ph"] == "B":
            stacks[tid].append(e)
        elif e["ph"] == "E" and stacks[tid]:
            b = stacks[tid].pop()
            x0, x1 = x(b["ts"]), x(e["ts"])
            park = b.get("name") == "park"
            fill = "#cccccc" if park else colour(b.get("args", {}).get("task", "?"))
            top = y(tid) + (LANE_H * 0.35 if park else 2)
            h = LANE_H * 0.3 if park else LANE_H - 4
            title = "park" if park else "task %s" % b.get("args", {}).get("task", "?")
            out.append('<rect x="%.2f" y="%.1f" width="%.2f" height="%.1f" fill="%s">'
                       '<title>%s: %.3f ms</title></rect>'
                       % (x0, top, max(x1 - x0, 0.5), h, fill, escape(title),
                          (e["ts"] - b["ts"]) / 1000.0))
            slices += not park
        elif e["ph"] == "i" and e.get("name") == "timers":
            xx = x(e["ts"])
            out.append('<line x1="%.2f" y1="%d" x2="%.2f" y2="%d" stroke="#2a7" stroke-width="1"/>'
                       % (xx, y(tid) + LANE_H, xx, y(tid) + LANE_H + 5))
    starts = {e["id"]: e for e in ev if e["ph"] == "s"}
    steals = 0
    for e in ev:
        if e["ph"] == "f" and e["id"] in starts:
            s = starts[e["id"]]
            out.append('<line x1="%.2f" y1="%.1f" x2="%.2f" y2="%.1f" stroke="#c00" '
                       'stroke-width="1.5" marker-end="url(#arrow)"><title>steal</title></line>'
                       % (x(s["ts"]), y(s["tid"]) + LANE_H / 2, x(e["ts"]) + 0.01,
                          y(e["tid"]) + LANE_H / 2))
            steals += 1
    out.append('<text x="%d" y="%d" fill="#555">%d task slices, %d steals (red arrows: '
               'victim to thief), parks in grey, timer batches as green ticks</text>'
               % (LEFT, height - 10, slices, steals))
    out.append("</svg>")
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print("trace2svg: %s: %d lanes, %d slices, %d steals" % (a.out, len(tids), slices, steals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
