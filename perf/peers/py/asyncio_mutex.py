#!/usr/bin/python3
"""asyncio_mutex: Python asyncio peer of braid's mutex benchmark
(perf/mutex.c), one thread.

4 tasks share one asyncio.Lock, each taking it K times around one increment
of a shared counter; N (default 1,000,000) lock operations in all, split
evenly. The final count must be N. ns_per_op is per acquire + increment +
release. (One thread, nothing preempts a task: a task that finds the lock
free keeps it, as braid's coroutines on one worker do.)"""
import asyncio

from asyncio_common import parse, report, time_runs

TASKS = 4


async def locker(lock, box, k):
    for _ in range(k):
        async with lock:
            box[0] += 1


async def contend(n):
    lock, box = asyncio.Lock(), [0]
    await asyncio.gather(*(locker(lock, box, n // TASKS + (i < n % TASKS))
                           for i in range(TASKS)))
    return box[0]


a = parse(1_000_000)
ms = time_runs("mutex", a.r, a.n, lambda: contend(a.n))
report("mutex", "asyncio", a.n, ms, max(a.n, 1), a.n)
