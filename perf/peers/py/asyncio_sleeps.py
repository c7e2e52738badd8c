#!/usr/bin/python3
"""asyncio_sleeps: Python asyncio peer of braid's sleeps benchmark, one
thread.

N (default 100,000) tasks at once, task i doing asyncio.sleep for
sleep_micros(i) (uniform 0..100 ms, the same seeded sequence in every peer);
the time is the wall time until all are done. result is the number that
finished (N). A second line, sleeps-lateness, reports each run's mean
lateness (woken - due) in ms."""
import asyncio
import time

from asyncio_common import parse, report, sleep_micros, time_runs

late = []


async def sleeper(d, acc):
    t0 = time.monotonic()
    await asyncio.sleep(d)
    acc[0] += time.monotonic() - t0 - d


async def sleeps(ds):
    acc = [0.0]
    tasks = [asyncio.create_task(sleeper(d, acc)) for d in ds]
    done = 0
    for t in tasks:
        await t
        done += 1
    late.append(acc[0] / max(len(ds), 1) * 1e3)
    return done


a = parse(100_000)
ds = [sleep_micros(i) / 1e6 for i in range(a.n)]
ms = time_runs("sleeps", a.r, a.n, lambda: sleeps(ds))
report("sleeps", "asyncio", a.n, ms, a.n, a.n)
report("sleeps-lateness", "asyncio", a.n, late[1:], 1, a.n)
