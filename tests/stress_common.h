/* stress_common.h - what braid's plain stress programs (stress_rt,
 * storm_cancel, tsan_switch: no Criterion, so that they also run under
 * ThreadSanitizer) share: the failure count and CHECK; the seeded mixer
 * and generator their choices come from (a failure replays its choices
 * from the seed); a runtime with a seed.
 *
 * A program defines STRESS_NAME, the prefix of its messages, before it
 * includes this file, and may define STRESS_REPORTS, how many failures it
 * prints (default: all). Every failure is counted in `failures`. */
#ifndef BRAID_TEST_STRESS_COMMON_H
#define BRAID_TEST_STRESS_COMMON_H

#include <braid.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifndef STRESS_NAME
#error "define STRESS_NAME before including stress_common.h"
#endif
#ifndef STRESS_REPORTS
#define STRESS_REPORTS LONG_MAX
#endif

static atomic_long failures;

/* Counts a failure; true if it is one of the first STRESS_REPORTS, to be
 * printed. */
static inline bool stress_failed(void)
{
    return atomic_fetch_add(&failures, 1) < STRESS_REPORTS;
}

#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c) && stress_failed())                                                      \
            fprintf(stderr, STRESS_NAME ": check failed at line %d: %s\n", __LINE__, #c); \
    } while (0)

/* MurmurHash3's 64-bit finalizer: a well-mixed value from a seed and an
 * index. */
static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* A seeded generator: a splitmix64-style counter, mixed. */
typedef struct {
    uint64_t s;
} rng;

static inline uint64_t rnext(rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return mix(r->s);
}

/* A value in 0..n-1. */
static inline unsigned rbelow(rng *r, unsigned n)
{
    return (unsigned)(rnext(r) % n);
}

/* A runtime of `workers` workers whose braid_rand draws follow seed;
 * braid_rt_new's status. */
static inline int stress_rt_new(braid_rt **rt, unsigned workers, uint64_t seed)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = workers;
    o.seed = seed;
    return braid_rt_new(rt, &o);
}

#endif
