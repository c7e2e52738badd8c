/* delays.h - coroutines that sleep a random time and say how long: the
 * building blocks of wait_random.c, wait_n.c, measure_time.c,
 * task_wait_random.c and task_wait_n.c (see delays.c). */
#ifndef SEEDS_DELAYS_H
#define SEEDS_DELAYS_H

#include <braid.h>
#include <stddef.h>

/* async def wait_random(max_delay) -> float: a task body. arg points to
 * max_delay (a double, seed seconds), which must outlive the task. Sleeps
 * random.uniform(0, max_delay) seed seconds and returns that delay in
 * nanoseconds of seed time (a task's result is an int64_t; seed_seconds
 * turns it back into seconds). */
int64_t wait_random(void *arg);

/* async def wait_n(n, max_delay) -> List[float]: from a coroutine, runs n
 * wait_random concurrently and stores their delays in delays[0 .. n-1] in
 * the order the tasks complete, which is ascending, without sorting.
 * Returns 0 or a negative errno (every task it started has ended). */
int wait_n(long n, double max_delay, double *delays);

/* def task_wait_random(max_delay) -> asyncio.Task: a plain function (no
 * suspension) that creates a wait_random task, from a coroutine.
 * *max_delay must outlive the task. 0 or a negative errno. */
int task_wait_random(braid_task **task, double *max_delay);

/* async def task_wait_n(n, max_delay) -> List[float]: wait_n built on
 * task_wait_random. */
int task_wait_n(long n, double max_delay, double *delays);

#endif
