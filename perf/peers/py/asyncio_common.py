"""What the Python asyncio peers of braid's benchmarks share: the -n/-t/-r
options (asyncio has one thread: -t is accepted and ignored, workers=1),
timing (warm-up once, then reps timed runs on the monotonic clock, results
checked) and the one-line BENCH report braid's own benchmarks print
(perf/bench.h). Each run gets a fresh event loop (asyncio.run)."""
import argparse
import asyncio
import statistics
import sys
import time


def parse(default_n):
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=default_n, help="workload size")
    p.add_argument("-t", type=int, default=0, help="threads (ignored: asyncio runs on 1)")
    p.add_argument("-r", type=int, default=5, help="timed repetitions")
    a = p.parse_args()
    if a.n < 0 or a.r < 1:
        p.error("bad -n or -r")
    return a


def time_runs(name, reps, expect, make_coro):
    """Warm-up once, then reps timed runs of asyncio.run(make_coro());
    exits if a result differs from expect. Returns the times in ms."""
    ms = []
    for i in range(reps + 1):
        coro = make_coro()
        t0 = time.monotonic_ns()
        got = asyncio.run(coro)
        dt = (time.monotonic_ns() - t0) / 1e6
        if got != expect:
            sys.exit(f"{name}: wrong result {got} (expected {expect})")
        if i > 0:
            ms.append(dt)
    return ms


def report(name, impl, param, ms, ops, result):
    med = statistics.median(ms)
    print(f"BENCH name={name} impl={impl} workers=1 param={param} reps={len(ms)} "
          f"median_ms={med:.3f} min_ms={min(ms):.3f} ns_per_op={med * 1e6 / ops:.2f} "
          f"result={result}", flush=True)


def sleep_micros(i):
    """The sleep of task i in the sleeps workload, in us: uniform in
    0..100,000 from splitmix64(i), the same sequence in every peer."""
    m = (1 << 64) - 1
    z = ((i + 1) * 0x9E3779B97F4A7C15) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    z ^= z >> 31
    return z % 100001
