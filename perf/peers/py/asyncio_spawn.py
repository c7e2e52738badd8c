#!/usr/bin/python3
"""asyncio_spawn: Python asyncio peer of braid's spawn-all benchmark
(perf/spawn.c), same shape, one thread.

asyncio.create_task N (default 1,000,000) tasks with the empty body i & 1,
then await each in spawn order and sum. ns_per_op is per task; result N/2.
Time includes creating and closing the event loop (asyncio.run)."""
import asyncio

from asyncio_common import parse, report, time_runs


async def empty(i):
    return i & 1


async def spawn_all(n):
    tasks = [asyncio.create_task(empty(i)) for i in range(n)]
    s = 0
    for t in tasks:
        s += await t
    return s


a = parse(1_000_000)
ms = time_runs("spawn-all", a.r, a.n // 2, lambda: spawn_all(a.n))
report("spawn-all", "asyncio", a.n, ms, a.n, a.n // 2)
