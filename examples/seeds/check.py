#!/usr/bin/env python3
"""check.py - run one seed program and check its output, order and timing.

usage: check.py PROGRAM EXECUTABLE [--workers 1,2] [--scale S] [--slack SECONDS]

PROGRAM names an entry of SPECS below (the C file without .c). The program
runs once per worker count (-w), at a small time scale (-s), and each run
must:
  - exit with status 0 and print nothing on stderr;
  - print exactly the expected lines, in the expected order (lines that the
    asyncio program prints at the same instant from different tasks may come
    in either order);
  - print each line no earlier than its time in the seed (a strict lower
    bound: the program cannot be early), and not much later (an upper bound
    with SLACK seconds to spare for process start-up and a noisy machine);
  - end no earlier than the seed's total time and within SLACK after it.
Where a wrong implementation would take a known longer time (tasks awaited
one after the other instead of concurrently: 3 units instead of 2; a
cancelled 10-unit sleep that was not cancelled), the scale is chosen so that
SLACK is smaller than the difference, and the check says so.

The random-delay programs are checked by property: values in range, printed
as Python's repr prints them, wait_n's list ascending, total time equal to
the largest delay (not the sum).

Then bad command lines must exit with status 2 and a usage message on
stderr. Prints one line per check; on a mismatch prints the reason and what
the program printed (with times), and exits 1.

SEEDS_SLACK in the environment overrides the default slack (0.3 s), for
slow builds (sanitizers, valgrind).
"""
import argparse
import ast
import os
import subprocess
import sys
import tempfile
import threading
import time

EPS = 0.001  # seconds: float rounding of the scaled sleeps, never more
DEFAULT_SLACK = 0.3

HELLO = [("Hello", 0), ("World", 1)]
MAGIC = [("Async function is doing its magic!", 0), ("Async function has completed!", 1)]
COMPLETED = [("Task 1 completed", 1), ("Task 2 completed", 2)]

# name: lines [(text or [texts printed at the same instant], at units)],
# total (units), scale, wrong (units a broken version would take), extra
# options, and the options that take a value beside -s and -w.
SPECS = {
    "hello_world": dict(lines=[("Hello, world!", 0)], total=0),
    "hello": dict(lines=HELLO, total=1),
    "explicit_loop": dict(lines=HELLO, total=1),
    "hello_task": dict(lines=HELLO, total=1),
    "hello_via_main": dict(lines=HELLO, total=1),
    "magic": dict(lines=MAGIC, total=1),
    "magic_task": dict(lines=MAGIC, total=1),
    "create_task_outside": dict(lines=[("Task 1", 0)], total=1),
    "gather_announce": dict(lines=[(["Task 1", "Task 2"], 0)], total=2, wrong=3, scale=0.4),
    "gather_jobs": dict(lines=[(["Task 1 is doing its job!", "Task 2 is doing its job!"], 0),
                               ("Task 2 is done!", 1), ("Task 1 is done!", 2)],
                        total=2, wrong=3, scale=0.4),
    "create_task": dict(lines=COMPLETED, total=2, wrong=3, scale=0.4),
    "gather": dict(lines=COMPLETED, total=2, wrong=3, scale=0.4),
    "error_caught": dict(lines=[("Caught an exception: An error occurred!", 1)], total=1),
    "cancel": dict(lines=[("Task was cancelled", 1), ("Caught task cancellation", 1)],
                   total=1, wrong=10),
    "file_io": dict(lines=[("Hello, asyncio!", 0)], total=0, takes="f"),
    "skeletons": dict(lines=[], total=0),
    "wait_random": dict(random="one", takes="Sm", scale=0.1),
    "task_wait_random": dict(random="one", takes="Sm", scale=0.1),
    "wait_n": dict(random="list", takes="Snm", scale=0.1),
    "task_wait_n": dict(random="list", takes="Snm", scale=0.1),
    "measure_time": dict(random="per_task", takes="Snm", scale=0.1),
}


class Mismatch(Exception):
    pass


class Run:
    """One finished run: exit status, stdout lines with the time each
    arrived, stderr, and the total time (seconds since just before exec)."""

    def __init__(self, argv, timeout):
        self.argv = argv
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        killer = threading.Timer(timeout, p.kill)
        killer.start()
        err = []
        reader = threading.Thread(target=lambda: err.append(p.stderr.read()))
        reader.start()
        self.lines = []  # (text, seconds)
        for raw in p.stdout:
            self.lines.append((raw.decode(errors="replace").rstrip("\n"), time.monotonic() - t0))
        self.rc = p.wait()
        self.total = time.monotonic() - t0
        killer.cancel()
        reader.join()
        self.stderr = err[0].decode(errors="replace")
        self.timed_out = self.rc == -9 and self.total >= timeout

    def show(self):
        out = ["  $ " + " ".join(self.argv), "  exit status %d after %.3f s" % (self.rc, self.total)]
        out += ["  stdout %7.3f s: %s" % (t, s) for s, t in self.lines]
        out += ["  stderr: " + s for s in self.stderr.splitlines()]
        return "\n".join(out)


def within(what, t, lo, hi):
    if t < lo - EPS:
        raise Mismatch("%s at %.3f s: too early, expected at least %.3f s" % (what, t, lo))
    if t >= hi:
        raise Mismatch("%s at %.3f s: too late, expected before %.3f s" % (what, t, hi))
    return "%s at %.3f s (>= %.3f, < %.3f)" % (what, t, lo, hi)


def check_clean(run):
    if run.timed_out:
        raise Mismatch("killed: still running after %.1f s" % run.total)
    if run.rc != 0:
        raise Mismatch("exit status %d, expected 0" % run.rc)
    if run.stderr:
        raise Mismatch("unexpected output on stderr")


def check_lines(spec, run, scale, slack):
    """Fixed output: lines, order, and when each arrives."""
    check_clean(run)
    notes = []
    got = list(run.lines)
    pos = 0
    for texts, at in spec["lines"]:
        group = [texts] if isinstance(texts, str) else list(texts)
        seen = got[pos:pos + len(group)]
        if sorted(s for s, _ in seen) != sorted(group):
            raise Mismatch("line %d: expected %s, got %s" % (
                pos + 1, " and ".join(repr(g) for g in group) + (" (any order)" if len(group) > 1 else ""),
                [s for s, _ in seen] or "end of output"))
        for s, t in seen:
            notes.append(within(repr(s), t, at * scale, at * scale + slack))
        if len(group) > 1:
            notes.append("printed together, in this order: %s" % [s for s, _ in seen])
        pos += len(group)
    if pos < len(got):
        raise Mismatch("unexpected line %d: %r" % (pos + 1, got[pos][0]))
    notes.append(within("exit", run.total, spec["total"] * scale, spec["total"] * scale + slack))
    return notes


def check_float_text(text):
    try:
        v = float(text)
    except ValueError:
        raise Mismatch("%r is not a float" % text)
    if repr(v) != text:
        raise Mismatch("%r is not how Python prints %r" % (text, v))
    return v


def check_random(spec, run, scale, slack, n, max_delay):
    """Random delays: one value, a list, or measure_time's time per task."""
    check_clean(run)
    if len(run.lines) != 1:
        raise Mismatch("expected one line, got %d" % len(run.lines))
    text = run.lines[0][0]
    kind = spec["random"]
    notes = []
    if kind == "per_task":
        per_task = check_float_text(text)
        # The program times asyncio.run(wait_n(n, max_delay)) and divides by
        # the scale and by n: n * per_task is the seed time of the concurrent
        # run, at most max_delay (the longest delay) plus start-up; delays
        # run one after the other would add up to about n * max_delay / 2.
        seed_total = per_task * n
        if per_task < 0:
            raise Mismatch("negative time %r" % per_task)
        if seed_total * scale > run.total + EPS:
            raise Mismatch("measured %.3f s, more than the process lived (%.3f s)"
                           % (seed_total * scale, run.total))
        notes.append(within("n * time per task (scaled)", seed_total * scale, 0, max_delay * scale + slack))
        notes.append(within("exit", run.total, seed_total * scale, max_delay * scale + slack))
        return notes
    if kind == "one":
        delays = [check_float_text(text)]
    else:
        try:
            delays = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise Mismatch("%r is not a Python list" % text)
        if not isinstance(delays, list) or not all(isinstance(d, float) for d in delays):
            raise Mismatch("%r is not a list of floats" % text)
        if repr(delays) != text:
            raise Mismatch("%r is not how Python prints %r" % (text, delays))
        if len(delays) != n:
            raise Mismatch("%d delays, expected %d" % (len(delays), n))
        # Completion order is deadline order: ascending. A deadline is the
        # task's start plus its delay, and the tasks start one after the
        # other (microseconds apart, more if the machine stalls the worker
        # meanwhile; asyncio has the same skew); on several workers each
        # worker also keeps its own timer heap. So two delays closer than
        # that skew may come out swapped: allow an inversion of at most 20 ms
        # of real time, far below the ~50 ms mean gap between 10 delays here.
        tol = 0.02 / scale
        for i in range(1, len(delays)):
            if delays[i] < delays[i - 1] - tol:
                raise Mismatch("not ascending: %r before %r (allowed inversion: %g)"
                               % (delays[i - 1], delays[i], tol))
        notes.append("%d delays in completion order, ascending (swaps of up to %g allowed)" % (n, tol))
    for d in delays:
        if not (0 <= d <= max_delay):
            raise Mismatch("delay %r outside [0, %r]" % (d, max_delay))
    longest = max(delays, default=0.0)
    notes.append(within("exit (longest delay %r)" % longest, run.total, longest * scale, longest * scale + slack))
    if kind == "list" and n > 1:
        notes.append("sum of the delays %.3f s: they did not run one after the other"
                     % (sum(delays) * scale) if sum(delays) * scale >= longest * scale + slack
                     else "(sum of the delays too small to tell concurrent from sequential)")
    return notes


def bad_command_lines(program, exe, takes):
    """Each must exit 2 with a usage message on stderr and nothing on stdout."""
    cases = [["-s", "0"], ["-s", "abc"], ["-s", "-1"], ["-s", "inf"], ["-s"], ["-w", "-1"],
             ["-w", "x"], ["-w", "100000"], ["-x"], ["extra"]]
    for opt, bad in (("S", "x"), ("n", "-3"), ("m", "nan"), ("m", "-1"), ("f", "")):
        if opt in takes:
            cases.append(["-" + opt, bad])
        elif ["-" + opt, "1"] not in cases:
            cases.append(["-" + opt, "1"])  # an option this program does not take
    if program == "measure_time":
        cases.append(["-n", "0"])  # it divides by n
    notes = []
    for args in cases:
        r = Run([exe] + args, 10)
        if r.rc != 2 or "usage:" not in r.stderr or r.lines:
            raise Mismatch("bad arguments %s: expected exit status 2, usage on stderr, no stdout\n%s"
                           % (args, r.show()))
    notes.append("%d bad command lines: exit 2 with usage on stderr" % len(cases))
    r = Run([exe, "-h"], 10)
    if r.rc != 0 or not r.lines or not r.lines[0][0].startswith("usage:"):
        raise Mismatch("-h: expected usage on stdout and exit 0\n" + r.show())
    notes.append("-h: usage on stdout, exit 0")
    return notes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("program", choices=sorted(SPECS))
    ap.add_argument("exe")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--scale", type=float)
    ap.add_argument("--slack", type=float)
    a = ap.parse_args()
    spec = SPECS[a.program]
    scale = a.scale or spec.get("scale", 0.05)
    slack = a.slack or float(os.environ.get("SEEDS_SLACK", DEFAULT_SLACK))
    takes = spec.get("takes", "")
    exe = os.path.abspath(a.exe)
    if not os.access(exe, os.X_OK):
        print("FAIL %s: %s is not an executable" % (a.program, exe))
        return 1

    if "wrong" in spec:
        gap = (spec["wrong"] - spec["total"]) * scale
        msg = ("a broken version (tasks one after the other, or not cancelled) would take %g units"
               " = %.3f s, past the upper bound %.3f s: the timing check tells them apart" % (
                   spec["wrong"], spec["wrong"] * scale, spec["total"] * scale + slack))
        if slack >= gap:
            print("WARNING %s: slack %.3f s >= %.3f s: cannot tell %g units from %g at scale %g"
                  % (a.program, slack, gap, spec["total"], spec["wrong"], scale))
        else:
            print("note: " + msg)

    runs = []  # (label, argv, n, max_delay, workers)
    for w in [int(x) for x in a.workers.split(",")]:
        base = [exe, "-s", repr(scale), "-w", str(w)]
        if "random" in spec:
            n, m = 10, 5.0
            for seed in (None, 12345):
                extra = ["-S", str(seed)] if seed is not None else []
                argv = base + extra + (["-n", str(n)] if "n" in takes else []) + ["-m", repr(m)]
                runs.append((argv, n if "n" in takes else 1, m, w))
            if spec["random"] == "list":
                runs.append((base + ["-n", "0"], 0, 5.0, w))    # wait_n(0, 5) == []
                runs.append((base + ["-n", "4", "-m", "0"], 4, 0.0, w))  # all 0.0
        else:
            runs.append((base, None, None, w))

    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for argv, n, m, w in runs:
            path = None
            if "f" in takes:
                path = os.path.join(tmp, "example-w%d.txt" % w)
                argv = argv + ["-f", path]
            timeout = 20 + 10 * scale * max(spec.get("total", 0), m or 0)
            run = Run(argv, timeout)
            try:
                if "random" in spec:
                    notes = check_random(spec, run, scale, slack, n, m)
                else:
                    notes = check_lines(spec, run, scale, slack)
                if path is not None:
                    with open(path, "rb") as f:
                        content = f.read()
                    if content != b"Hello, asyncio!":
                        raise Mismatch("%s holds %r, expected b'Hello, asyncio!'" % (path, content))
                    notes.append("the file holds 'Hello, asyncio!'")
                print("ok   %s %s  (slack %g s)" % (a.program, " ".join(argv[1:]), slack))
                for s in notes:
                    print("       " + s)
            except Mismatch as e:
                failed = True
                print("FAIL %s: %s\n%s" % (a.program, e, run.show()))
    try:
        for s in bad_command_lines(a.program, exe, takes):
            print("ok   " + s)
    except Mismatch as e:
        failed = True
        print("FAIL %s: %s" % (a.program, e))
    print("%s %s" % ("FAILED" if failed else "PASSED", a.program))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
