/* fib.c - fork-join fib(N) with a task per call, beside its serial twin.
 *
 * Every call with n >= 2 spawns both children as tasks and awaits both, the
 * shape every peer runs (perf/peers/tbb_fib.cpp): fib(30) makes 2,692,536
 * spawned tasks (2 * fib(31) - 2). ns_per_op is per spawned task. The serial
 * twin is plain recursion, so the overhead of a task is visible.
 */
#include <braid.h>

#include "bench.h"

static int64_t fib_task(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (n < 2)
        return n;
    braid_task *a, *b;
    if (braid_spawn(&a, fib_task, (void *)(intptr_t)(n - 1)) != 0)
        abort();
    if (braid_spawn(&b, fib_task, (void *)(intptr_t)(n - 2)) != 0)
        abort();
    int64_t x = 0, y = 0;
    if (braid_await(b, &y) != 0 || braid_await(a, &x) != 0)
        abort();
    braid_task_release(b);
    braid_task_release(a);
    return x + y;
}

static __attribute__((noinline)) long fib_serial(long n)
{
    return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse(argc, argv, &a, 30);
    braid_rt *rt = bench_rt(a.workers);
    unsigned nw = (unsigned)braid_rt_workers(rt);
    long fa = 0, fb = 1; /* fib(n+1) for the task count */
    for (long i = 0; i < a.n + 1; i++) {
        long t = fa + fb;
        fa = fb;
        fb = t;
    }
    double tasks = 2.0 * (double)fa - 2.0;
    int64_t r = 0;
    double ms[64];
    int reps = a.reps > 64 ? 64 : a.reps;
    bench_time(rt, fib_task, (void *)(intptr_t)a.n, reps, ms, &r);
    braid_rt_free(rt);
    volatile long vn = a.n;
    if (r != fib_serial(vn)) {
        fprintf(stderr, "fib: wrong result %lld\n", (long long)r);
        return 1;
    }
    bench_report("fib", "braid", nw, a.n, ms, reps, tasks, (long long)r);
    long s = 0;
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now_ms();
        s = fib_serial(vn);
        ms[i] = bench_now_ms() - t0;
    }
    bench_report("fib", "serial-c", 1, a.n, ms, reps, tasks, s);
    return 0;
}
