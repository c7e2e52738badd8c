/* hello_via_main.c - a main coroutine that awaits another coroutine
 * directly (no task).
 *
 * Mirrors seed 003 ("Creating and Running Coroutines"):
 *
 *     async def say_hello():
 *         print("Hello")
 *         await asyncio.sleep(1)
 *         print("World")
 *
 *     async def main():
 *         await say_hello()
 *
 *     asyncio.run(main())
 *
 * `await say_hello()` runs say_hello inside main's own task; in braid a
 * coroutine can suspend at any depth, so that is a plain C call. Prints
 * "Hello", then after one second "World".
 */
#include "common.h"

#include <stdio.h>

static int64_t say_hello(void *arg)
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
    return say_hello(arg); /* await say_hello() */
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
