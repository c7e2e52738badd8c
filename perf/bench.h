/* bench.h - shared helpers of braid's benchmarks: argument parsing, timing,
 * medians and the one-line machine-readable report.
 *
 * Every benchmark prints lines of the form
 *   BENCH name=<workload> impl=<implementation> workers=<n> param=<n>
 *         reps=<r> median_ms=<x> min_ms=<x> ns_per_op=<x> result=<value>
 * which perf/compare and perf/RESULTS.md consume.
 */
#ifndef BRAID_PERF_BENCH_H
#define BRAID_PERF_BENCH_H

#include <braid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct bench_args {
    long n;          /* -n: problem size (meaning per benchmark) */
    unsigned workers; /* -t: worker threads, 0 = all CPUs */
    int reps;        /* -r: timed repetitions */
} bench_args;

static inline void bench_parse(int argc, char **argv, bench_args *a, long default_n)
{
    a->n = default_n;
    a->workers = 0;
    a->reps = 5;
    int c;
    while ((c = getopt(argc, argv, "n:t:r:h")) != -1) {
        switch (c) {
        case 'n': a->n = strtol(optarg, NULL, 10); break;
        case 't': a->workers = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'r': a->reps = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-n size] [-t workers (0 = all CPUs)] [-r reps]\n", argv[0]);
            exit(2);
        }
    }
    if (a->reps < 1 || a->n < 0) {
        fprintf(stderr, "%s: bad -r or -n\n", argv[0]);
        exit(2);
    }
}

static inline double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline void bench_report(const char *name, const char *impl, unsigned workers, long param,
                                double *ms, int reps, double ops, long long result)
{
    qsort(ms, (size_t)reps, sizeof *ms, bench_cmp);
    double med = reps % 2 ? ms[reps / 2] : (ms[reps / 2 - 1] + ms[reps / 2]) / 2;
    printf("BENCH name=%s impl=%s workers=%u param=%ld reps=%d median_ms=%.3f min_ms=%.3f "
           "ns_per_op=%.2f result=%lld\n",
           name, impl, workers, param, reps, med, ms[0], med * 1e6 / ops, result);
    fflush(stdout);
}

/* A runtime with the given worker count (0 = all CPUs); exits on failure. */
static inline braid_rt *bench_rt(unsigned workers)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = workers;
    braid_rt *rt;
    int err = braid_rt_new(&rt, &o);
    if (err != 0) {
        fprintf(stderr, "braid_rt_new: %s\n", braid_strerror(err));
        exit(1);
    }
    return rt;
}

/* Warm up once, then time reps runs of fn(arg) on rt into ms[]; the last
 * result goes to *r. Exits if a run fails. */
static inline void bench_time(braid_rt *rt, braid_fn fn, void *arg, int reps, double *ms, int64_t *r)
{
    if (braid_rt_block_on(rt, fn, arg, r) != 0)
        exit(1);
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now_ms();
        if (braid_rt_block_on(rt, fn, arg, r) != 0)
            exit(1);
        ms[i] = bench_now_ms() - t0;
    }
}

#endif
