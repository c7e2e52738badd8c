/* sleeps.c - N concurrent coroutines each sleeping a pseudo-random
 * 0-100 ms (the wait_n seed at scale). Task i sleeps splitmix64(i) % 100001
 * microseconds, the same set every peer under perf/peers sleeps.
 *
 * Reports, per run: wall time (median_ms), then the mean wake lateness
 * (woken - due) and its p99, then resident bytes per suspended coroutine:
 * on a fresh runtime, N coroutines all waiting on one event at once, RSS
 * growth divided by N (task, stack pages, everything).
 * -n N (default 100,000), -t workers, -r reps.
 */
#include <braid.h>
#include <stdatomic.h>

#include "bench.h"

/* Task i's sleep in us, 0..100,000: the (i+1)-th splitmix64 output, the
 * same set the Go, Tokio, asyncio and Boost.Fiber peers sleep. */
static uint64_t splitmix64(uint64_t x)
{
    uint64_t z = (x + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static long n_tasks;
static int64_t *late;       /* per task: woken - due, ns */
static atomic_long asleep;  /* tasks that armed their sleep */
static long rss_asleep;     /* RSS growth (KiB) while N coroutines wait */

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int64_t sleeper(void *arg)
{
    long i = (long)(intptr_t)arg;
    int64_t due = braid_now() + (int64_t)(splitmix64((uint64_t)i) % 100001) * 1000;
    atomic_fetch_add_explicit(&asleep, 1, memory_order_relaxed);
    if (braid_sleep_until(due) != 0)
        return -1;
    late[i] = braid_now() - due;
    return 0;
}

static int64_t run(void *arg)
{
    (void)arg;
    braid_task **t = malloc((size_t)n_tasks * sizeof *t);
    if (t == NULL)
        return -12;
    atomic_store(&asleep, 0);
    for (long i = 0; i < n_tasks; i++)
        if (braid_spawn(&t[i], sleeper, (void *)(intptr_t)i) != 0)
            return -12;
    /* Let them all start (each arms its timer and suspends), then sample. */
    while (atomic_load_explicit(&asleep, memory_order_relaxed) < n_tasks)
        braid_yield();
    rss_asleep = rss_kib();
    for (long i = 0; i < n_tasks; i++) {
        if (braid_await(t[i], NULL) != 0)
            return -1;
        braid_task_release(t[i]);
    }
    free(t);
    return n_tasks;
}

/* Memory: N coroutines all suspended at once (on an event), RSS sampled
 * while they wait, on a fresh runtime (nothing pooled yet). */
static braid_event *gate;

static int64_t waiter(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&asleep, 1, memory_order_relaxed);
    return braid_event_wait(gate);
}

static int64_t hold_all(void *arg)
{
    (void)arg;
    braid_task **t = malloc((size_t)n_tasks * sizeof *t);
    if (t == NULL)
        return -12;
    atomic_store(&asleep, 0);
    long before = rss_kib();
    for (long i = 0; i < n_tasks; i++)
        if (braid_spawn(&t[i], waiter, NULL) != 0)
            return -12;
    while (atomic_load_explicit(&asleep, memory_order_relaxed) < n_tasks)
        braid_yield();
    braid_yield(); /* the last one reaches its wait */
    rss_asleep = rss_kib() - before;
    braid_event_set(gate);
    for (long i = 0; i < n_tasks; i++) {
        braid_await(t[i], NULL);
        braid_task_release(t[i]);
    }
    free(t);
    return 0;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse(argc, argv, &a, 100000);
    n_tasks = a.n;
    late = calloc((size_t)a.n, sizeof *late);
    braid_rt *rt = bench_rt(a.workers);
    unsigned nw = (unsigned)braid_rt_workers(rt);
    double ms[64], late_mean[64], late_p99[64];
    int reps = a.reps > 64 ? 64 : a.reps;
    int64_t r = 0;
    for (int i = -1; i < reps; i++) { /* i = -1: warm-up */
        double t0 = bench_now_ms();
        if (braid_rt_block_on(rt, run, NULL, &r) != 0 || r != a.n)
            return 1;
        if (i < 0)
            continue;
        ms[i] = bench_now_ms() - t0;
        double sum = 0;
        for (long k = 0; k < a.n; k++)
            sum += (double)late[k];
        late_mean[i] = sum / (double)a.n / 1e6;
        qsort(late, (size_t)a.n, sizeof *late, cmp64);
        late_p99[i] = (double)late[(size_t)((double)a.n * 0.99)] / 1e6;
    }
    braid_rt_free(rt);
    bench_report("sleeps", "braid", nw, a.n, ms, reps, (double)a.n, (long long)r);
    /* ops = 1: ns_per_op is the lateness itself, in ns. */
    bench_report("sleeps-lateness", "braid", nw, a.n, late_mean, reps, 1, (long long)r);
    bench_report("sleeps-lateness-p99", "braid", nw, a.n, late_p99, reps, 1, (long long)r);
    braid_event_new(&gate);
    rt = bench_rt(a.workers);
    braid_rt_block_on(rt, hold_all, NULL, NULL);
    braid_rt_free(rt);
    braid_event_free(gate);
    double per = (double)rss_asleep * 1024.0 / (double)a.n;
    printf("BENCH name=sleeps-rss impl=braid workers=%u param=%ld reps=1 median_ms=0 min_ms=0 "
           "ns_per_op=0 result=%.0f bytes_per_sleeper=%.0f\n",
           nw, a.n, per, per);
    free(late);
    return 0;
}
