/* magic.c - a main coroutine that awaits another coroutine directly.
 *
 * Mirrors seed 001 ("async and await Syntax"):
 *
 *     async def my_async_function():
 *         print("Async function is doing its magic!")
 *         await asyncio.sleep(1)
 *         print("Async function has completed!")
 *
 *     async def main():
 *         await my_async_function()
 *
 *     asyncio.run(main())
 *
 * `await my_async_function()` runs it inside main's own task: a plain C
 * call. Prints the first line, then after one second the second.
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
    return my_async_function(arg); /* await my_async_function() */
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
