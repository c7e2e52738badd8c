/* hello.c - a coroutine that prints, sleeps one second, and prints again.
 *
 * Mirrors seed 002 ("Coroutines") and seed 003 (the say_hello examples of
 * "The async and await Keywords" and "The Event Loop"), the same program
 * under two names:
 *
 *     async def hello():            # say_hello() in seed 003
 *         print("Hello")
 *         await asyncio.sleep(1)
 *         print("World")
 *
 *     asyncio.run(hello())
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

int main(int argc, char **argv)
{
    seed_opts o;
    seed_opts_init(&o);
    seed_parse(argc, argv, "", &o);
    braid_rt_opts ro;
    seed_rt_opts(&o, &ro);
    return seed_exit("asyncio.run(hello())", braid_run(hello, NULL, &ro, NULL));
}
