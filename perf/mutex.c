/* mutex.c - mutex contention: 4 coroutines per worker share one
 * braid_mutex, each taking it K times around a tiny critical section (one
 * increment of a shared counter); N = -n lock operations in all (default
 * 1,000,000), split evenly (the first tasks take one more when N is not a
 * multiple of the task count). The final count must be N. ns_per_op is per
 * lock + increment + unlock. -t workers.
 *
 * With one worker nothing preempts a coroutine, so a task that finds the
 * mutex free keeps taking it: that case measures the uncontended path; the
 * contention is between workers (the "mutex contention across 2
 * workers"). Same shape as perf/peers/{go,tokio,boost,py}/..._mutex.
 */
#include <braid.h>

#include "bench.h"

#define TASKS_PER_WORKER 4

static braid_mutex *mx;
static long counter; /* guarded by mx */
static long n_ops, n_tasks;

static int64_t locker(void *arg)
{
    long k = (long)(intptr_t)arg;
    for (long i = 0; i < k; i++) {
        if (braid_mutex_lock(mx) != 0)
            return -1;
        counter++;
        if (braid_mutex_unlock(mx) != 0)
            return -1;
    }
    return 0;
}

static int64_t run(void *arg)
{
    (void)arg;
    braid_task *t[1024];
    counter = 0;
    for (long i = 0; i < n_tasks; i++) {
        long k = n_ops / n_tasks + (i < n_ops % n_tasks);
        if (braid_spawn(&t[i], locker, (void *)(intptr_t)k) != 0)
            return -12;
    }
    int64_t bad = 0;
    for (long i = 0; i < n_tasks; i++) {
        int64_t r = 0;
        if (braid_await(t[i], &r) != 0 || r != 0)
            bad = -1;
        braid_task_release(t[i]);
    }
    if (bad != 0)
        return bad;
    if (braid_mutex_lock(mx) != 0)
        return -1;
    long c = counter;
    braid_mutex_unlock(mx);
    return c;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse(argc, argv, &a, 1000000);
    if (braid_mutex_new(&mx) != 0)
        return 1;
    braid_rt *rt = bench_rt(a.workers);
    unsigned nw = (unsigned)braid_rt_workers(rt);
    n_ops = a.n;
    n_tasks = (long)nw * TASKS_PER_WORKER;
    if (n_tasks > 1024)
        n_tasks = 1024;
    double ms[64];
    int reps = a.reps > 64 ? 64 : a.reps;
    int64_t r = 0;
    bench_time(rt, run, NULL, reps, ms, &r);
    braid_rt_free(rt);
    braid_mutex_free(mx);
    if (r != a.n) {
        fprintf(stderr, "mutex: wrong count %lld (expected %ld)\n", (long long)r, a.n);
        return 1;
    }
    bench_report("mutex", "braid", nw, a.n, ms, reps, (double)(a.n ? a.n : 1), (long long)r);
    return 0;
}
