/* wait_random.c - sleep a random delay between 0 and max_delay seconds and
 * print it.
 *
 * Mirrors seed 004's my_coroutine (delay = random.uniform(0, 5); await
 * asyncio.sleep(delay)) as wait_random(max_delay), which returns its delay
 * (see delays.c):
 *
 *     print(asyncio.run(wait_random(5)))
 *
 * -m MAX_DELAY (default 5, as in the seed), -S SEED (default 0: braid's
 * fixed seed, so runs on one worker repeat). Prints the delay in seconds
 * (e.g. 3.762924826) after sleeping that long.
 */
#include "common.h"
#include "delays.h"

int main(int argc, char **argv)
{
    seed_opts o;
    seed_opts_init(&o);
    seed_parse(argc, argv, "Sm", &o);
    braid_rt_opts ro;
    seed_rt_opts(&o, &ro);
    int64_t delay_ns;
    int err = braid_run(wait_random, &o.max_delay, &ro, &delay_ns); /* asyncio.run(wait_random(5)) */
    if (err != 0)
        return seed_exit("asyncio.run(wait_random(max_delay))", err);
    seed_print_float(seed_seconds(delay_ns)); /* print(...) */
    return 0;
}
