/* measure_time.c - time wait_n from outside the event loop and print the
 * time per task.
 *
 * Mirrors measure_time(n, max_delay), built on wait_n (seed 004's
 * my_coroutine run n times concurrently; see delays.c):
 *
 *     def measure_time(n: int, max_delay: int) -> float:
 *         start = time.perf_counter()
 *         asyncio.run(wait_n(n, max_delay))
 *         return (time.perf_counter() - start) / n
 *
 *     print(measure_time(5, 9))
 *
 * A plain function: it starts a whole runtime (braid_run is asyncio.run)
 * and times it with braid_now. -n N (default 5, at least 1), -m MAX_DELAY
 * (default 5), -S SEED. Prints the time per task in seed seconds (the
 * measured time divided by the scale), which is at most about max_delay / n
 * since the n delays overlap.
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

static int64_t wait_n_coro(void *arg)
{
    struct args *a = arg;
    return wait_n(a->n, a->max_delay, a->delays);
}

/* def measure_time(n, max_delay) -> float, in seed seconds; *status gets
 * asyncio.run's status. */
static double measure_time(long n, double max_delay, const seed_opts *o, int *status)
{
    struct args a = {n, max_delay, calloc((size_t)n, sizeof(double))};
    if (a.delays == NULL) {
        *status = -ENOMEM;
        return 0;
    }
    braid_rt_opts ro;
    seed_rt_opts(o, &ro);
    int64_t start = braid_now();
    *status = braid_run(wait_n_coro, &a, &ro, NULL); /* asyncio.run(wait_n(n, max_delay)) */
    int64_t elapsed = braid_now() - start;
    free(a.delays);
    return (double)elapsed / 1e9 / o->scale / (double)n;
}

int main(int argc, char **argv)
{
    seed_opts o;
    seed_opts_init(&o);
    seed_parse(argc, argv, "Snm", &o);
    if (o.n < 1)
        seed_bad_arg("-n must be at least 1: measure_time divides by n");
    int err;
    double per_task = measure_time(o.n, o.max_delay, &o, &err);
    if (err != 0)
        return seed_exit("measure_time(n, max_delay)", err);
    seed_print_float(per_task); /* print(measure_time(n, max_delay)) */
    return 0;
}
