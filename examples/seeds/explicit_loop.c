/* explicit_loop.c - the event loop by hand: create a runtime, run one
 * coroutine to completion on it, close it.
 *
 * Mirrors seed 002 ("Event Loop"):
 *
 *     async def hello():
 *         print("Hello")
 *         await asyncio.sleep(1)
 *         print("World")
 *
 *     loop = asyncio.get_event_loop()
 *     loop.run_until_complete(hello())
 *     loop.close()
 *
 * braid_rt_new is the loop (its workers start at once and wait for work),
 * braid_rt_block_on is run_until_complete (the calling thread blocks until
 * the coroutine ends), braid_rt_free is close. Prints "Hello", then after
 * one second "World".
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

    braid_rt *loop;
    int err = braid_rt_new(&loop, &ro); /* loop = asyncio.get_event_loop() */
    if (err != 0)
        return seed_exit("braid_rt_new", err);
    int status = braid_rt_block_on(loop, hello, NULL, NULL); /* loop.run_until_complete(hello()) */
    err = braid_rt_free(loop);                                /* loop.close() */
    if (status != 0)
        return seed_exit("loop.run_until_complete(hello())", status);
    return seed_exit("braid_rt_free", err);
}
