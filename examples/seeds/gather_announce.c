/* gather_announce.c - two tasks that print first, then sleep one and two
 * seconds, gathered: both lines come at once, the whole takes two seconds.
 *
 * Mirrors seed 000 ("Running Concurrent Coroutines"):
 *
 *     async def task_1():
 *         print("Task 1")
 *         await asyncio.sleep(1)
 *
 *     async def task_2():
 *         print("Task 2")
 *         await asyncio.sleep(2)
 *
 *     async def main():
 *         await asyncio.gather(task_1(), task_2())
 *
 *     asyncio.run(main())
 *
 * Prints "Task 1" and "Task 2" at the start, "in random order" as the
 * seed says (asyncio in fact prints "Task 1" first; on several workers the
 * two tasks run at the same time, and one worker starts the task created
 * last first), then ends after two seconds.
 */
#include "common.h"

#include <stdio.h>

static int64_t task_1(void *arg)
{
    (void)arg;
    printf("Task 1\n");
    return seed_sleep(1);
}

static int64_t task_2(void *arg)
{
    (void)arg;
    printf("Task 2\n");
    return seed_sleep(2);
}

static int64_t main_coro(void *arg)
{
    (void)arg;
    braid_task *tasks[2] = {NULL, NULL};
    int err = braid_spawn(&tasks[0], task_1, NULL);
    if (err == 0)
        err = braid_spawn(&tasks[1], task_2, NULL);
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
