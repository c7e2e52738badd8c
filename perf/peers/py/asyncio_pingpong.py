#!/usr/bin/python3
"""asyncio_pingpong: Python asyncio peer of braid's pingpong benchmark,
one thread.

Two tasks pass a counter back and forth over two asyncio.Queue(maxsize=1),
N (default 1,000,000) round trips (ping + pong = one round trip).
ns_per_op is per round trip; result is N."""
import asyncio

from asyncio_common import parse, report, time_runs


async def ponger(ping, pong):
    while (v := await ping.get()) is not None:
        await pong.put(v + 1)


async def pinger(n, ping, pong):
    v = 0
    for _ in range(n):
        await ping.put(v)
        v = await pong.get()
    await ping.put(None)
    return v


async def pingpong(n):
    ping, pong = asyncio.Queue(1), asyncio.Queue(1)
    p = asyncio.create_task(ponger(ping, pong))
    v = await asyncio.create_task(pinger(n, ping, pong))
    await p
    return v


a = parse(1_000_000)
ms = time_runs("pingpong", a.r, a.n, lambda: pingpong(a.n))
report("pingpong", "asyncio", a.n, ms, a.n, a.n)
