/* task_wait_random.c - the same random sleep, created as a task by a plain
 * function and awaited.
 *
 * Mirrors wait_random (seed 004's my_coroutine, see delays.c) wrapped by
 * task_wait_random(max_delay), a regular function that returns a task:
 *
 *     async def main(max_delay):
 *         task = task_wait_random(max_delay)
 *         print(await task)
 *
 *     asyncio.run(main(5))
 *
 * -m MAX_DELAY (default 5), -S SEED. Prints the delay in seconds after
 * sleeping that long.
 */
#include "common.h"
#include "delays.h"

#include <stdio.h>

static int64_t main_coro(void *arg)
{
    double *max_delay = arg;
    braid_task *task;
    int err = task_wait_random(&task, max_delay); /* task = task_wait_random(max_delay) */
    if (err != 0)
        return err;
    int64_t delay_ns;
    err = braid_await(task, &delay_ns); /* await task */
    braid_task_release(task);
    if (err != 0)
        return err;
    seed_print_float(seed_seconds(delay_ns)); /* print(...) */
    return 0;
}

int main(int argc, char **argv)
{
    seed_opts o;
    seed_opts_init(&o);
    seed_parse(argc, argv, "Sm", &o);
    braid_rt_opts ro;
    seed_rt_opts(&o, &ro);
    return seed_exit("asyncio.run(main(max_delay))", braid_run(main_coro, &o.max_delay, &ro, NULL));
}
