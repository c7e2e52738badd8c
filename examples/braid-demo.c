/* braid-demo.c - braid's main demo: the same workloads on one worker and on
 * every core, side by side.
 *
 *   interleave: many coroutines that take turns (braid_yield) on a worker:
 *               concurrency, they all progress while each waits its turn;
 *   fib:        fork-join fib with a task per call: CPU work that speeds up
 *               only with more workers (parallelism), spread by stealing.
 *
 * Prints one table: workload, workers, wall time, speedup, tasks, steals,
 * parks. Options: -w workers (default: all CPUs), -n fib size, -h.
 */
#include <braid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int64_t fib(void *arg)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2)
        return n;
    braid_task *a, *b;
    int err = braid_spawn(&a, fib, (void *)(n - 1));
    if (err != 0)
        return err;
    err = braid_spawn(&b, fib, (void *)(n - 2));
    if (err != 0)
        return err;
    int64_t x = 0, y = 0;
    int ea = braid_await(b, &y), eb = braid_await(a, &x);
    braid_task_release(a);
    braid_task_release(b);
    return ea ? ea : eb ? eb : x + y;
}

static int64_t turn_taker(void *arg)
{
    intptr_t turns = (intptr_t)arg;
    for (intptr_t i = 0; i < turns; i++) {
        int err = braid_yield();
        if (err != 0)
            return err;
    }
    return 1;
}

typedef struct {
    int tasks, turns;
} interleave_args;

static int64_t interleave(void *arg)
{
    interleave_args *a = arg;
    braid_task **t = calloc((size_t)a->tasks, sizeof *t);
    if (t == NULL)
        return -12;
    for (int i = 0; i < a->tasks; i++)
        if (braid_spawn(&t[i], turn_taker, (void *)(intptr_t)a->turns) != 0)
            abort();
    int64_t done = 0;
    for (int i = 0; i < a->tasks; i++) {
        int64_t v = 0;
        if (braid_await(t[i], &v) == 0)
            done += v;
        braid_task_release(t[i]);
    }
    free(t);
    return done;
}

typedef struct {
    const char *name;
    unsigned workers;
    double ms;
    braid_stats st;
    int64_t result;
} row;

static int run_row(row *r, braid_fn fn, void *arg)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = r->workers;
    braid_rt *rt;
    int err = braid_rt_new(&rt, &o);
    if (err != 0)
        return err;
    r->workers = (unsigned)braid_rt_workers(rt);
    braid_rt_block_on(rt, fn, arg, NULL); /* warm the pools */
    braid_stats before;
    braid_rt_stats(rt, &before);
    double t0 = now_ms();
    err = braid_rt_block_on(rt, fn, arg, &r->result);
    r->ms = now_ms() - t0;
    braid_rt_stats(rt, &r->st);
    r->st.spawned -= before.spawned;
    r->st.stolen -= before.stolen;
    r->st.parks -= before.parks;
    braid_rt_free(rt);
    return err;
}

static void usage(const char *p)
{
    printf("usage: %s [-w workers] [-n fib-size] [-h]\n"
           "Runs the same workloads on 1 worker and on all workers and prints the\n"
           "table: concurrency (interleaving) versus parallelism (fib speed-up).\n",
           p);
}

int main(int argc, char **argv)
{
    unsigned workers = 0;
    long n = 27;
    int c;
    while ((c = getopt(argc, argv, "w:n:h")) != -1) {
        switch (c) {
        case 'w': workers = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'n': n = strtol(optarg, NULL, 10); break;
        case 'h': usage(argv[0]); return 0;
        default: usage(argv[0]); return 2;
        }
    }
    if (n < 1 || n > 40) {
        fprintf(stderr, "%s: -n must be 1..40\n", argv[0]);
        return 2;
    }
    if (workers == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        workers = cpus > 0 ? (unsigned)cpus : 1;
    }
    interleave_args ia = {.tasks = 10000, .turns = 20};
    row rows[4] = {
        {.name = "interleave", .workers = 1},
        {.name = "interleave", .workers = workers},
        {.name = "fib", .workers = 1},
        {.name = "fib", .workers = workers},
    };
    for (int i = 0; i < 4; i++) {
        int err = i < 2 ? run_row(&rows[i], interleave, &ia) : run_row(&rows[i], fib, (void *)(intptr_t)n);
        if (err != 0) {
            fprintf(stderr, "braid-demo: %s on %u workers: %s\n", rows[i].name, rows[i].workers,
                    braid_strerror(err));
            return 1;
        }
    }
    printf("braid %s: %d coroutines x %d turns (interleave), fib(%ld) with a task per call\n\n",
           BRAID_VERSION_STRING, ia.tasks, ia.turns, n);
    printf("%-11s %7s %10s %8s %10s %8s %6s\n", "workload", "workers", "wall ms", "speedup", "tasks",
           "steals", "parks");
    for (int i = 0; i < 4; i++) {
        row *r = &rows[i];
        double base = rows[i & ~1].ms;
        printf("%-11s %7u %10.1f %7.2fx %10llu %8llu %6llu\n", r->name, r->workers, r->ms,
               base / r->ms, (unsigned long long)r->st.spawned, (unsigned long long)r->st.stolen,
               (unsigned long long)r->st.parks);
    }
    printf("\ninterleave: %lld coroutines took all their turns on every row: one worker\n"
           "interleaves them (concurrency). fib: the speedup comes from idle workers\n"
           "stealing tasks from busy ones (parallelism).\n",
           (long long)rows[0].result);
    return 0;
}
