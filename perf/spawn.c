/* spawn.c - the cost of creating tasks, two shapes:
 *   spawn-await: spawn a task and await it at once, N times (the inline
 *                path: the awaiter takes it back from its deque and runs it
 *                on its own stack): ns per spawn + await + release;
 *   spawn-all:   spawn N empty tasks, then await them all (issue: "spawn 1M
 *                and wait for all"): ns per task;
 *   call:        the serial twin, an indirect call of the same body.
 * -n is N (default 1,000,000). -t workers (spawn-all only; spawn-await runs
 * on one worker).
 */
#include <braid.h>

#include "bench.h"

static int64_t empty(void *arg)
{
    return (int64_t)(intptr_t)arg & 1;
}

static int64_t spawn_await(void *arg)
{
    long n = (long)(intptr_t)arg;
    int64_t sum = 0;
    for (long i = 0; i < n; i++) {
        braid_task *t;
        int64_t r = 0;
        if (braid_spawn(&t, empty, (void *)(intptr_t)i) != 0 || braid_await(t, &r) != 0)
            abort();
        braid_task_release(t);
        sum += r;
    }
    return sum;
}

static braid_task **all;

static int64_t spawn_all(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++)
        if (braid_spawn(&all[i], empty, (void *)(intptr_t)i) != 0)
            abort();
    int64_t sum = 0;
    for (long i = 0; i < n; i++) {
        int64_t r = 0;
        if (braid_await(all[i], &r) != 0)
            abort();
        braid_task_release(all[i]);
        sum += r;
    }
    return sum;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse(argc, argv, &a, 1000000);
    double ms[64];
    int reps = a.reps > 64 ? 64 : a.reps;
    void *n = (void *)(intptr_t)a.n;
    int64_t r = 0;

    braid_rt *rt = bench_rt(1);
    bench_time(rt, spawn_await, n, reps, ms, &r);
    braid_rt_free(rt);
    bench_report("spawn-await", "braid", 1, a.n, ms, reps, (double)a.n, (long long)r);

    all = malloc((size_t)a.n * sizeof *all);
    if (all == NULL)
        return 1;
    rt = bench_rt(a.workers);
    unsigned nw = (unsigned)braid_rt_workers(rt);
    bench_time(rt, spawn_all, n, reps, ms, &r);
    braid_rt_free(rt);
    free(all);
    bench_report("spawn-all", "braid", nw, a.n, ms, reps, (double)a.n, (long long)r);

    int64_t (*volatile fn)(void *) = empty;
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now_ms();
        r = 0;
        for (long k = 0; k < a.n; k++)
            r += fn((void *)(intptr_t)k);
        ms[i] = bench_now_ms() - t0;
    }
    bench_report("spawn-await", "call", 1, a.n, ms, reps, (double)a.n, (long long)r);
    return 0;
}
