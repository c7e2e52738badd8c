/* hello_world.c - the smallest program: run a main coroutine that prints.
 *
 * Mirrors seed 000 ("Executing an Async Program with Asyncio"):
 *
 *     async def main():
 *         print("Hello, world!")
 *
 *     asyncio.run(main())
 *
 * Prints "Hello, world!" at once.
 */
#include "common.h"

#include <stdio.h>

static int64_t main_coro(void *arg)
{
    (void)arg;
    printf("Hello, world!\n");
    return 0;
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
