/* braid-demo.c - braid's main demo: the same workloads on one worker and on
 * every core, side by side.
 *
 *   sleep:  10,000 coroutines each sleeping a random 50-100 ms: waiting-
 *           bound work finishes in about the longest wait on 1 worker as on
 *           N (concurrency: one thread interleaves them all);
 *   fib:    fork-join fib with a task per call: CPU work that speeds up
 *           only with more workers (parallelism), spread by stealing.
 *
 * Prints one table: workload, workers, wall time, speedup, tasks, steals,
 * parks, and writes a trace. Options: -w workers (default: all CPUs), -n fib
 * size, -c sleeping coroutines, -u seconds per seed second, -S seed,
 * -T trace path, -h / --help.
 */
#include <braid.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
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

static int64_t sleeper(void *arg)
{
    (void)arg;
    /* random.uniform(0.05, 0.1), from this worker's seeded generator */
    int64_t ns = (int64_t)(braid_rand_uniform(0.050, 0.100) * 1e9);
    int err = braid_sleep(ns);
    return err != 0 ? err : 1;
}

typedef struct {
    int tasks;
} sleep_args;

static int64_t sleep_all(void *arg)
{
    sleep_args *a = arg;
    braid_task **t = calloc((size_t)a->tasks, sizeof *t);
    if (t == NULL)
        return -12;
    for (int i = 0; i < a->tasks; i++)
        if (braid_spawn(&t[i], sleeper, NULL) != 0)
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

static uint64_t seed = 1;

/* ---- part 1: the asyncio story of the seed documents, briefly ----------
 * Each step prints what its asyncio program prints; one "second" of the
 * seeds is `unit` here (-u, default 0.05 s) so the story takes a moment. */
static double unit = 0.05;

static int64_t units(double u)
{
    return (int64_t)(u * unit * 1e9);
}

static int64_t say_after(void *arg)
{
    const char **what = arg; /* {delay in units as text, message} */
    int err = braid_sleep(units(atof(what[0])));
    if (err != 0)
        return err;
    printf("  %s\n", what[1]);
    return 0;
}

static int64_t long_running(void *arg)
{
    (void)arg;
    int err = braid_sleep(units(10));
    if (err == -ECANCELED)
        printf("  Task was cancelled\n");
    return err;
}

static int64_t faulty(void *arg)
{
    (void)arg;
    braid_sleep(units(1));
    return braid_fail(-EINVAL, "An error occurred!");
}

static int64_t wait_random(void *arg)
{
    double max = *(double *)arg;
    double d = braid_rand_uniform(0, max);
    int err = braid_sleep(units(d));
    return err != 0 ? err : (int64_t)(d * 1e6); /* micro-units */
}

static int64_t story(void *arg)
{
    (void)arg;
    int64_t t0 = braid_now();
    printf("# async hello (asyncio.run)\n  Hello\n");
    braid_sleep(units(1));
    printf("  World\n");

    printf("# gather: tasks of 1 and 2 units run together\n");
    const char *a1[] = {"1", "Task 1 completed"}, *a2[] = {"2", "Task 2 completed"};
    braid_task *t[2];
    int64_t g0 = braid_now();
    braid_spawn(&t[0], say_after, a1);
    braid_spawn(&t[1], say_after, a2);
    braid_gather(t, 2, NULL, NULL, 0);
    printf("  gathered in %.1f units (not 3)\n", (double)(braid_now() - g0) / units(1));
    braid_task_release(t[0]);
    braid_task_release(t[1]);

    printf("# create_task, then await each in turn\n");
    g0 = braid_now();
    braid_spawn(&t[0], say_after, a1);
    braid_spawn(&t[1], say_after, a2);
    braid_await(t[0], NULL);
    braid_await(t[1], NULL);
    printf("  both done in %.1f units\n", (double)(braid_now() - g0) / units(1));
    braid_task_release(t[0]);
    braid_task_release(t[1]);

    printf("# wait_n(5, 3): random delays, in completion order\n  [");
    double max = 3;
    braid_task *w[5];
    for (int i = 0; i < 5; i++)
        braid_spawn(&w[i], wait_random, &max);
    braid_waitset *ws;
    braid_waitset_new(&ws, w, 5);
    size_t idx;
    for (int k = 0; braid_waitset_next(ws, BRAID_FOREVER, &idx) == 0; k++) {
        int64_t us = 0;
        braid_await(w[idx], &us);
        printf("%s%.3f", k ? ", " : "", (double)us / 1e6);
    }
    printf("]  (ascending, never sorted)\n");
    braid_waitset_free(ws);
    for (int i = 0; i < 5; i++)
        braid_task_release(w[i]);

    printf("# cancel a 10-unit task after 1 unit\n");
    braid_task *lt;
    braid_spawn(&lt, long_running, NULL);
    braid_sleep(units(1));
    braid_cancel(lt);
    if (braid_await(lt, NULL) == -ECANCELED)
        printf("  Caught task cancellation\n");
    braid_task_release(lt);

    printf("# an error caught by its awaiter\n");
    braid_task *ft;
    braid_spawn(&ft, faulty, NULL);
    if (braid_await(ft, NULL) == -EINVAL)
        printf("  Caught an exception: %s\n", braid_task_message(ft));
    braid_task_release(ft);
    printf("# the story took %.1f units\n\n", (double)(braid_now() - t0) / units(1));
    return 0;
}

/* The traced run: sleepers and a fork-join fib at once, on every worker, so
 * the trace shows both: slices interleaved on each lane while they wait,
 * and steals (arrows between lanes) spreading the CPU work. */
typedef struct {
    sleep_args sa;
    long n;
} mixed_args;

static int64_t mixed(void *arg)
{
    mixed_args *m = arg;
    braid_task *s, *f;
    if (braid_spawn(&s, sleep_all, &m->sa) != 0 || braid_spawn(&f, fib, (void *)(intptr_t)m->n) != 0)
        return -12;
    int e1 = braid_await(s, NULL), e2 = braid_await(f, NULL);
    braid_task_release(s);
    braid_task_release(f);
    return e1 ? e1 : e2;
}

static int write_trace(const char *path, unsigned workers, int sleepers, long n)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = workers;
    o.seed = seed;
    o.trace_path = path;
    mixed_args m = {.sa = {.tasks = sleepers}, .n = n};
    braid_rt *rt;
    int err = braid_rt_new(&rt, &o);
    if (err != 0)
        return err;
    err = braid_rt_block_on(rt, mixed, &m, NULL);
    /* The runtime's counters for the traced run, per worker and in all. */
    printf("\nstatistics of the traced run (braid_rt_worker_stats, braid_rt_stats):\n");
    printf("%-7s %9s %9s %8s %9s %8s %8s %7s %8s %7s %6s\n", "worker", "spawned", "started",
           "inlined", "switches", "stolen", "stol-out", "parks", "wakeups", "timers", "deque");
    unsigned nw = (unsigned)braid_rt_workers(rt);
    braid_stats st;
    for (unsigned i = 0; i <= nw; i++) {
        char name[16] = "all";
        if (i < nw) {
            braid_rt_worker_stats(rt, i, &st);
            snprintf(name, sizeof name, "w%u", i);
        } else {
            braid_rt_stats(rt, &st);
        }
        printf("%-7s %9llu %9llu %8llu %9llu %8llu %8llu %7llu %8llu %7llu %6llu\n", name,
               (unsigned long long)st.spawned, (unsigned long long)st.started,
               (unsigned long long)st.inlined, (unsigned long long)st.switches,
               (unsigned long long)st.stolen,
               (unsigned long long)st.stolen_out, (unsigned long long)st.parks,
               (unsigned long long)st.wakeups, (unsigned long long)st.timers_fired,
               (unsigned long long)st.max_deque);
    }
    printf("(deque: the deepest a worker's deque got; stacks mapped: %llu KiB, in use now: %llu)\n",
           (unsigned long long)(st.stack_bytes / 1024), (unsigned long long)st.stacks_in_use);
    int ferr = braid_rt_free(rt);
    return err != 0 ? err : ferr;
}

static int run_row(row *r, braid_fn fn, void *arg)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = r->workers;
    o.seed = seed;
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
    printf("usage: %s [-w workers] [-n fib-size] [-c sleepers] [-u unit-seconds] [-S seed]\n"
           "       [-T trace.json] [-h]\n"
           "Tells asyncio's story first (hello, gather, create_task, wait_n, cancel, an\n"
           "error caught), one seed 'second' being -u seconds (default 0.05). Then it\n"
           "runs the same workloads on 1 worker and on all workers and prints one\n"
           "table: concurrency (sleepers finish in about the longest sleep on any\n"
           "number of workers) versus parallelism (fib speeds up with workers).\n"
           "-T writes a trace of a mixed run (default braid-trace.json; -T '' for none).\n",
           p);
}

int main(int argc, char **argv)
{
    unsigned workers = 0;
    long n = 27;
    int sleepers = 10000;
    const char *trace = "braid-trace.json";
    int c;
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    while ((c = getopt_long(argc, argv, "w:n:c:S:T:u:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'w': workers = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'n': n = strtol(optarg, NULL, 10); break;
        case 'c': sleepers = atoi(optarg); break;
        case 'S': seed = strtoull(optarg, NULL, 10); break;
        case 'T': trace = optarg; break;
        case 'u': unit = atof(optarg); break;
        case 'h': usage(argv[0]); return 0;
        default: usage(argv[0]); return 2;
        }
    }
    if (n < 1 || n > 40 || sleepers < 1 || sleepers > 1000000 || !(unit >= 0 && unit <= 10)) {
        fprintf(stderr, "%s: -n must be 1..40, -c 1..1000000, -u 0..10\n", argv[0]);
        return 2;
    }
    if (unit > 0) {
        braid_rt_opts so;
        braid_rt_opts_init(&so);
        so.workers = workers;
        so.seed = seed;
        int err = braid_run(story, NULL, &so, NULL);
        if (err != 0) {
            fprintf(stderr, "braid-demo: story: %s\n", braid_strerror(err));
            return 1;
        }
        fflush(stdout);
    }
    if (workers == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        workers = cpus > 0 ? (unsigned)cpus : 1;
    }
    sleep_args sa = {.tasks = sleepers};
    row rows[4] = {
        {.name = "sleep", .workers = 1},
        {.name = "sleep", .workers = workers},
        {.name = "fib", .workers = 1},
        {.name = "fib", .workers = workers},
    };
    bool tty = isatty(2); /* a progress line on a terminal: big -n or -c take a while */
    for (int i = 0; i < 4; i++) {
        if (tty)
            fprintf(stderr, "\rbraid-demo: running %d/4: %s on %u worker%s...   ", i + 1,
                    rows[i].name, rows[i].workers, rows[i].workers == 1 ? "" : "s");
        int err = i < 2 ? run_row(&rows[i], sleep_all, &sa) : run_row(&rows[i], fib, (void *)(intptr_t)n);
        if (tty && i == 3)
            fprintf(stderr, "\r%60s\r", "");
        if (err != 0) {
            fprintf(stderr, "braid-demo: %s on %u workers: %s\n", rows[i].name, rows[i].workers,
                    braid_strerror(err));
            return 1;
        }
    }
    printf("braid %s: %d coroutines sleeping 50-100 ms (sleep), fib(%ld) with a task per call\n\n",
           BRAID_VERSION_STRING, sa.tasks, n);
    printf("%-11s %7s %10s %8s %10s %8s %6s\n", "workload", "workers", "wall ms", "speedup", "tasks",
           "steals", "parks");
    for (int i = 0; i < 4; i++) {
        row *r = &rows[i];
        double base = rows[i & ~1].ms;
        printf("%-11s %7u %10.1f %7.2fx %10llu %8llu %6llu\n", r->name, r->workers, r->ms,
               base / r->ms, (unsigned long long)r->st.spawned, (unsigned long long)r->st.stolen,
               (unsigned long long)r->st.parks);
    }
    printf("\nsleep: %lld coroutines waited at once; one worker interleaves them, so 1\n"
           "and %u workers both take about the longest sleep (concurrency). fib: CPU\n"
           "work speeds up only with more workers, which steal tasks from busy ones\n"
           "(parallelism).\n",
           (long long)rows[0].result, workers);
    if (trace[0] != '\0') {
        int err = write_trace(trace, workers, sleepers / 10 + 1, n > 22 ? 22 : n);
        if (err != 0) {
            fprintf(stderr, "braid-demo: trace: %s\n", braid_strerror(err));
            return 1;
        }
        printf("\ntrace: %s (sleepers and fib at once on %u workers: one lane per worker,\n"
               "task slices, parks, steals as arrows). Open it in Perfetto or\n"
               "chrome://tracing.\n",
               trace, workers);
    }
    return 0;
}
