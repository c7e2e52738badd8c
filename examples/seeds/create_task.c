/* create_task.c - two tasks created together, then awaited one after the
 * other: they run concurrently, so the whole takes two seconds, not three.
 *
 * Mirrors seed 003 ("Creating and Running Tasks"):
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
 *         task_1 = asyncio.create_task(task1())
 *         task_2 = asyncio.create_task(task2())
 *         await task_1
 *         await task_2
 *
 *     asyncio.run(main())
 *
 * Prints "Task 1 completed" after one second, "Task 2 completed" after
 * two. (If task_1 has not started when main awaits it, braid runs it at
 * once on main's stack; task_2 is already queued and starts meanwhile.)
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
    braid_task *task_1 = NULL, *task_2 = NULL;
    int err = braid_spawn(&task_1, task1, NULL); /* task_1 = asyncio.create_task(task1()) */
    if (err == 0)
        err = braid_spawn(&task_2, task2, NULL); /* task_2 = asyncio.create_task(task2()) */
    if (err == 0)
        err = braid_await(task_1, NULL); /* await task_1 */
    if (err == 0)
        err = braid_await(task_2, NULL); /* await task_2 */
    braid_task_release(task_1);
    braid_task_release(task_2);
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
