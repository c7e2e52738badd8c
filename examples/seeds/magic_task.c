/* magic_task.c - a main coroutine that wraps my_async_function() in a task
 * and awaits it.
 *
 * Mirrors seed 001 ("Creating asyncio Tasks"):
 *
 *     async def my_async_function():
 *         print("Async function is doing its magic!")
 *         await asyncio.sleep(1)
 *         print("Async function has completed!")
 *
 *     async def main():
 *         task = asyncio.create_task(my_async_function())
 *         await task
 *
 *     asyncio.run(main())
 *
 * Prints the first line, then after one second the second.
 */
#include "common.h"

#include <stdio.h>

static int64_t my_async_function(void *arg)
{
    (void)arg;
    printf("Async function is doing its magic!\n");
    int err = seed_sleep(1);
    if (err != 0)
        return err;
    printf("Async function has completed!\n");
    return 0;
}

static int64_t main_coro(void *arg)
{
    (void)arg;
    braid_task *task;
    int err = braid_spawn(&task, my_async_function, NULL); /* asyncio.create_task(...) */
    if (err != 0)
        return err;
    err = braid_await(task, NULL); /* await task */
    braid_task_release(task);
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
