/* gather_jobs.c - two tasks that announce themselves, sleep two and one
 * seconds, and say they are done: the short one finishes first, the whole
 * takes two seconds.
 *
 * Mirrors seed 001 ("Running Concurrent Coroutines"):
 *
 *     async def task1():
 *         print("Task 1 is doing its job!")
 *         await asyncio.sleep(2)
 *         print("Task 1 is done!")
 *
 *     async def task2():
 *         print("Task 2 is doing its job!")
 *         await asyncio.sleep(1)
 *         print("Task 2 is done!")
 *
 *     async def main():
 *         await asyncio.gather(task1(), task2())
 *
 *     asyncio.run(main())
 *
 * Prints both "doing its job" lines at the start, "Task 2 is done!" after
 * one second and "Task 1 is done!" after two. asyncio prints task 1's
 * start first (it starts tasks in creation order); here either may come
 * first: on several workers the two run at the same time, and one worker
 * starts the task created last first (a worker takes its own queue LIFO).
 */
#include "common.h"

#include <stdio.h>

static int64_t task1(void *arg)
{
    (void)arg;
    printf("Task 1 is doing its job!\n");
    int err = seed_sleep(2);
    if (err != 0)
        return err;
    printf("Task 1 is done!\n");
    return 0;
}

static int64_t task2(void *arg)
{
    (void)arg;
    printf("Task 2 is doing its job!\n");
    int err = seed_sleep(1);
    if (err != 0)
        return err;
    printf("Task 2 is done!\n");
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
