/* task_wait_n.c - wait_n again, each task created by the plain function
 * task_wait_random: the same output.
 *
 * Mirrors task_wait_n(n, max_delay), wait_n built on task_wait_random
 * (seed 004's my_coroutine wrapped in a task; see delays.c):
 *
 *     print(asyncio.run(task_wait_n(5, 5)))
 *
 * -n N (default 5), -m MAX_DELAY (default 5), -S SEED. After the longest
 * delay, prints the list as Python does, e.g.
 *     [0.598573433, 2.167509388, 2.350650363, 3.769875926, 4.81702029]
 * The tasks run concurrently: the whole takes the largest delay, not the
 * sum.
 */
#include "common.h"
#include "delays.h"

#include <errno.h>
#include <stdlib.h>

struct args {
    long n;
    double max_delay;
    double *delays;
};

static int64_t main_coro(void *arg)
{
    struct args *a = arg;
    return task_wait_n(a->n, a->max_delay, a->delays); /* await task_wait_n(n, max_delay) */
}

int main(int argc, char **argv)
{
    seed_opts o;
    seed_opts_init(&o);
    seed_parse(argc, argv, "Snm", &o);
    braid_rt_opts ro;
    seed_rt_opts(&o, &ro);
    struct args a = {o.n, o.max_delay, calloc(o.n > 0 ? (size_t)o.n : 1, sizeof(double))};
    if (a.delays == NULL)
        return seed_exit("calloc", -ENOMEM);
    int err = braid_run(main_coro, &a, &ro, NULL);
    if (err == 0)
        seed_print_float_list(a.delays, (size_t)a.n); /* print(...) */
    free(a.delays);
    return seed_exit("asyncio.run(task_wait_n(n, max_delay))", err);
}
