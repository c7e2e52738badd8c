/* create_task_outside.c - create a task from plain code, outside any
 * coroutine, and wait for it.
 *
 * Mirrors seed 000 ("Creating Asyncio Tasks"):
 *
 *     async def task_1():
 *         print("Task 1")
 *         await asyncio.sleep(1)
 *
 *     task = asyncio.create_task(task_1())
 *
 * In Python that last line, at module level, raises "RuntimeError: no
 * running event loop" (braid_spawn answers -EPERM the same way outside a
 * coroutine). What the seed means to show is a task created and left to
 * run: braid_rt_spawn creates one on a runtime from any thread, and the
 * main thread then waits for it with a one-line coroutine that awaits it.
 * Prints "Task 1" at once, and ends after one second.
 */
#include "common.h"

#include <stdio.h>

static int64_t task_1(void *arg)
{
    (void)arg;
    printf("Task 1\n");
    return seed_sleep(1);
}

/* A plain thread cannot await; this coroutine does it for main(). */
static int64_t await_task(void *arg)
{
    return braid_await(arg, NULL);
}

int main(int argc, char **argv)
{
    seed_opts o;
    seed_opts_init(&o);
    seed_parse(argc, argv, "", &o);
    braid_rt_opts ro;
    seed_rt_opts(&o, &ro);

    braid_rt *rt;
    int err = braid_rt_new(&rt, &ro);
    if (err != 0)
        return seed_exit("braid_rt_new", err);
    braid_task *task;
    int status = braid_rt_spawn(rt, &task, task_1, NULL); /* task = asyncio.create_task(task_1()) */
    if (status == 0) {
        status = braid_rt_block_on(rt, await_task, task, NULL);
        braid_task_release(task);
    }
    err = braid_rt_free(rt);
    if (status != 0)
        return seed_exit("task_1", status);
    return seed_exit("braid_rt_free", err);
}
