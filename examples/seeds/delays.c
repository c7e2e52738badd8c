/* delays.c - random delays, one task per delay, collected in completion
 * order.
 *
 * Mirrors seed 004 ("Using the Random Module"):
 *
 *     async def my_coroutine():
 *         delay = random.uniform(0, 5)  # a random delay between 0 and 5 s
 *         await asyncio.sleep(delay)
 *
 * grown into the exercise that seed's README (001 and 004: "Python -
 * Async", with "Using the Random Module") introduces:
 *
 *     async def wait_random(max_delay: int = 10) -> float:
 *         delay = random.uniform(0, max_delay)
 *         await asyncio.sleep(delay)
 *         return delay
 *
 *     async def wait_n(n: int, max_delay: int) -> List[float]:
 *         tasks = [asyncio.create_task(wait_random(max_delay)) for _ in range(n)]
 *         return [await t for t in asyncio.as_completed(tasks)]
 *
 *     def task_wait_random(max_delay: int) -> asyncio.Task:
 *         return asyncio.create_task(wait_random(max_delay))
 *
 *     async def task_wait_n(n: int, max_delay: int) -> List[float]:
 *         tasks = [task_wait_random(max_delay) for _ in range(n)]
 *         return [await t for t in asyncio.as_completed(tasks)]
 *
 * random.uniform is braid_rand_uniform (each worker has its own generator,
 * seeded from braid_rt_opts.seed); as_completed is a braid_waitset. The
 * delays come out ascending because the tasks end in the order of their
 * deadlines: nothing sorts them.
 */
#include "delays.h"

#include "common.h"

#include <errno.h>
#include <stdlib.h>

int64_t wait_random(void *arg)
{
    double max_delay = *(const double *)arg;
    double delay = braid_rand_uniform(0, max_delay); /* random.uniform(0, max_delay) */
    int64_t delay_ns = (int64_t)(delay * 1e9);
    int err = seed_sleep(seed_seconds(delay_ns)); /* await asyncio.sleep(delay) */
    if (err != 0)
        return err;
    return delay_ns; /* return delay */
}

int task_wait_random(braid_task **task, double *max_delay)
{
    return braid_spawn(task, wait_random, max_delay);
}

/* Cancel the tasks and wait until each has ended, whatever happens to the
 * caller meanwhile: they read max_delay from the caller's stack. */
static void cancel_and_wait(braid_task **tasks, long n)
{
    for (long i = 0; i < n; i++)
        braid_cancel(tasks[i]);
    for (long i = 0; i < n; i++)
        while (braid_await(tasks[i], NULL) == -ECANCELED && braid_task_done(tasks[i]) == 0)
            ; /* the caller's own cancellation, delivered once: wait again */
}

/* [await t for t in asyncio.as_completed(tasks)]: each task's delay, in
 * the order the tasks end. */
static int as_completed(braid_task **tasks, long n, double *delays)
{
    braid_waitset *ws;
    int err = braid_waitset_new(&ws, tasks, (size_t)n);
    if (err != 0)
        return err;
    for (long k = 0; k < n && err == 0; k++) {
        size_t i;
        err = braid_waitset_next(ws, BRAID_FOREVER, &i);
        int64_t delay_ns = 0;
        if (err == 0)
            err = braid_await(tasks[i], &delay_ns); /* it has ended: its status at once */
        if (err == 0)
            delays[k] = seed_seconds(delay_ns);
    }
    braid_waitset_free(ws);
    return err;
}

/* Start n wait_random tasks with `start` and collect them as they end. */
static int run_n(long n, double *max_delay, double *delays,
                 int (*start)(braid_task **task, double *max_delay))
{
    braid_task **tasks = calloc(n > 0 ? (size_t)n : 1, sizeof *tasks);
    if (tasks == NULL)
        return -ENOMEM;
    long started = 0;
    int err = 0;
    while (started < n && (err = start(&tasks[started], max_delay)) == 0)
        started++;
    if (err == 0)
        err = as_completed(tasks, n, delays);
    if (err != 0)
        cancel_and_wait(tasks, started);
    for (long i = 0; i < started; i++)
        braid_task_release(tasks[i]);
    free(tasks);
    return err;
}

/* braid_spawn(&task, wait_random, max_delay): asyncio.create_task(wait_random(max_delay)) */
static int create_wait_random(braid_task **task, double *max_delay)
{
    return braid_spawn(task, wait_random, max_delay);
}

int wait_n(long n, double max_delay, double *delays)
{
    return run_n(n, &max_delay, delays, create_wait_random);
}

int task_wait_n(long n, double max_delay, double *delays)
{
    return run_n(n, &max_delay, delays, task_wait_random);
}
