/* omp_common.h - what the OpenMP peers of braid's benchmarks share: the
 * -n/-t/-r options (threads set with omp_set_num_threads), timing (warm-up
 * once, then reps timed runs on the monotonic clock, results checked) and
 * the one-line BENCH report that braid's own benchmarks print
 * (perf/bench.h). The same sources build with gcc (libgomp) and clang
 * (libomp); OMP_IMPL names the runtime in the report.
 */
#ifndef OMP_COMMON_H
#define OMP_COMMON_H

#define _POSIX_C_SOURCE 200809L /* getopt, clock_gettime under -std=c11 */

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifndef OMP_IMPL
#if defined(__clang__)
#define OMP_IMPL "omp-llvm"
#else
#define OMP_IMPL "omp-gomp"
#endif
#endif

#define PEER_MAX_REPS 64

typedef struct peer_args {
    long n;      /* -n: workload size */
    int threads; /* -t: OpenMP threads (0 = all cores), resolved */
    int reps;    /* -r: timed repetitions */
} peer_args;

static inline void peer_parse(int argc, char **argv, peer_args *a, long default_n)
{
    a->n = default_n;
    a->threads = 0;
    a->reps = 5;
    int c;
    while ((c = getopt(argc, argv, "n:t:r:h")) != -1) {
        switch (c) {
        case 'n': a->n = strtol(optarg, NULL, 10); break;
        case 't': a->threads = atoi(optarg); break;
        case 'r': a->reps = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-n N] [-t THREADS (0 = all cores)] [-r REPS]\n", argv[0]);
            exit(2);
        }
    }
    if (a->n < 0 || a->threads < 0 || a->reps < 1 || a->reps > PEER_MAX_REPS) {
        fprintf(stderr, "%s: bad -n, -t or -r\n", argv[0]);
        exit(2);
    }
    if (a->threads == 0)
        a->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    omp_set_dynamic(0);
    omp_set_num_threads(a->threads);
}

static inline double peer_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int peer_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Warm up once, then time reps runs of fn(n), each a fresh parallel region
 * whose single thread starts the work. Exits if a result differs from
 * expect; prints one BENCH line, ops dividing the median into ns_per_op. */
static inline void peer_bench(const char *name, const peer_args *a, double ops, long long expect,
                              long long (*fn)(long))
{
    double ms[PEER_MAX_REPS];
    for (int i = -1; i < a->reps; i++) {
        long long got = 0;
        double t0 = peer_now_ms();
#pragma omp parallel
#pragma omp single
        got = fn(a->n);
        double dt = peer_now_ms() - t0;
        if (got != expect) {
            fprintf(stderr, "%s/%s: wrong result %lld (expected %lld)\n", name, OMP_IMPL, got, expect);
            exit(1);
        }
        if (i >= 0)
            ms[i] = dt;
    }
    qsort(ms, (size_t)a->reps, sizeof *ms, peer_cmp);
    int r = a->reps;
    double med = r % 2 ? ms[r / 2] : (ms[r / 2 - 1] + ms[r / 2]) / 2;
    printf("BENCH name=%s impl=%s workers=%d param=%ld reps=%d median_ms=%.3f min_ms=%.3f "
           "ns_per_op=%.2f result=%lld\n",
           name, OMP_IMPL, a->threads, a->n, r, med, ms[0], med * 1e6 / ops, expect);
    fflush(stdout);
}

#endif
