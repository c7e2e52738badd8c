#!/usr/bin/env python3
"""trace_check.py - run braid-demo with tracing on 2 workers and check the
trace it writes: valid JSON (Chrome Trace Event format), one lane per worker,
every task slice begins and ends on one lane with time never going back,
slices on both lanes, and steals drawn as pairs of flow events ('s' on the
victim's lane, 'f' on the thief's) with matching ids on two different lanes;
then tools/trace2svg.py draws it and the SVG has both lanes and one arrow
per steal.
Usage: trace_check.py path/to/braid-demo
"""
import collections
import json
import os
import subprocess
import sys
import tempfile


def main():
    demo = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "trace.json")
        for attempt in range(3):  # a steal needs both workers busy at once
            out = subprocess.run([demo, "-w", "2", "-n", "24", "-c", "3000", "-T", path],
                                 capture_output=True, text=True, timeout=120)
            if out.returncode != 0:
                print("demo failed:", out.returncode, out.stderr)
                return 1
            with open(path) as f:
                trace = json.load(f)
            ev = trace["traceEvents"]
            problems = []
            lanes = collections.defaultdict(list)
            for e in ev:
                if e["ph"] in "BE":
                    lanes[e["tid"]].append(e)
            for tid, es in lanes.items():
                depth, last = 0, -1.0
                for e in es:
                    if e["ts"] < last:
                        problems.append("lane %d: time goes back at %s" % (tid, e["ts"]))
                        break
                    last = e["ts"]
                    depth += 1 if e["ph"] == "B" else -1
                    if depth < 0:
                        problems.append("lane %d: an end without a begin" % tid)
                        break
                if depth != 0:
                    problems.append("lane %d: %d slices never end" % (tid, depth))
            tasks = {tid for tid, es in lanes.items()
                     if any(e.get("name") == "task" for e in es)}
            if len(tasks) < 2:
                problems.append("task slices on %d lane(s), want 2" % len(tasks))
            starts = {e["id"]: e["tid"] for e in ev if e["ph"] == "s"}
            ends = {e["id"]: e["tid"] for e in ev if e["ph"] == "f"}
            if starts.keys() != ends.keys():
                problems.append("unmatched steal flows")
            if any(starts[i] == ends.get(i) for i in starts):
                problems.append("a steal flow starts and ends on the same lane")
            if not starts:
                problems.append("no steal in the trace")
            names = {e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
            if names != {"braid-w0", "braid-w1"}:
                problems.append("lane names: %s" % sorted(names))
            print("attempt %d: %d events, %d steals, %d slices" %
                  (attempt + 1, len(ev), len(starts), sum(len(es) for es in lanes.values()) // 2))
            if not problems:
                # The picture: tools/trace2svg.py draws it, one lane per worker,
                # an arrow per steal.
                svg = os.path.join(d, "t.svg")
                tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                                    "trace2svg.py")
                r = subprocess.run([sys.executable, tool, path, svg], capture_output=True,
                                   text=True, timeout=60)
                if r.returncode != 0:
                    print("trace2svg failed:", r.stdout, r.stderr)
                    return 1
                import xml.etree.ElementTree as ET
                root = ET.parse(svg).getroot()
                ns = "{http://www.w3.org/2000/svg}"
                texts = [t.text for t in root.iter(ns + "text")]
                arrows = [l for l in root.iter(ns + "line") if l.get("marker-end")]
                if "braid-w0" not in texts or "braid-w1" not in texts:
                    print("svg: lanes missing:", texts[:5])
                    return 1
                if len(arrows) != len(starts):
                    print("svg: %d arrows for %d steals" % (len(arrows), len(starts)))
                    return 1
                print("svg: 2 lanes, %d steal arrows" % len(arrows))
                print("1 passed, 0 failed")
                return 0
            print("; ".join(problems))
            if problems != ["no steal in the trace"]:
                return 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
