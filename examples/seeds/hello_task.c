/* hello_task.c - a main coroutine that wraps hello() in a task and awaits
 * it.
 *
 * Mirrors seed 002 ("Tasks"):
 *
 *     async def hello():
 *         print("Hello")
 *         await asyncio.sleep(1)
 *         print("World")
 *
 *     async def main():
 *         task = asyncio.create_task(hello())
 *         await task
 *
 *     asyncio.run(main())
 *
 * Prints "Hello", then after one second "World".
 */
#include "common.h"

#include <stdio.h>

static int64_t hello(void *arg)
{
    (void)arg;
    printf("Hello\n");
    int err = seed_sleep(1);
    if (err != 0)
        return err;
    printf("World\n");
    return 0;
}

static int64_t main_coro(void *arg)
{
    (void)arg;
    braid_task *task;
    int err = braid_spawn(&task, hello, NULL); /* task = asyncio.create_task(hello()) */
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
