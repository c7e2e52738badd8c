/* gather.c - two tasks of one and two seconds run concurrently: the whole
 * takes two seconds, not three.
 *
 * Mirrors seed 003 ("Waiting for Multiple Tasks"):
 *
 *     async def task1():
 *         await asyncio.sleep(1)
 *         print("Task 1 completed")
 *
 *     async def task2():
 *         await asyncio.sleep(2)
 *         print("Task 2 completed")
 *
 *     async def main():
 *         await asyncio.gather(task1(), task2())
 *
 *     asyncio.run(main())
 *
 * gather wraps each coroutine in a task (braid_spawn) and waits for all of
 * them (braid_gather). Prints "Task 1 completed" after one second and
 * "Task 2 completed" after two.
 */
#include "common.h"

#include <stdio.h>

static int64_t task1(void *arg)
{
    (void)arg;
    int err = seed_sleep(1);
    if (err != 0)
        return err;
    printf("Task 1 completed\n");
    return 0;
}

static int64_t task2(void *arg)
{
    (void)arg;
    int err = seed_sleep(2);
    if (err != 0)
        return err;
    printf("Task 2 completed\n");
    return 0;
}

static int64_t main_coro(void *arg)
{
    (void)arg;
    braid_task *tasks[2] = {NULL, NULL};
    int err = braid_spawn(&tasks[0], task1, NULL);
    if (err == 0)
        err = braid_spawn(&tasks[1], task2, NULL);
    if (err == 0)
        err = braid_gather(tasks, 2, NULL, NULL, 0); /* await asyncio.gather(...) */
    braid_task_release(tasks[0]);
    braid_task_release(tasks[1]);
    return err;
}

int main(int argc, char **argv)
{
    seed_opts o;
    seed_opts_init(&o);
    seed_parse(argc, argv, "", &o);
    braid_rt_opts ro;
    seed_rt_opts(&o, &ro);
    return seed_exit("asyncio.run(main())", braid_run(main_coro, NULL, &ro, NULL));
}
