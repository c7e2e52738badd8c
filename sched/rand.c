/* rand.c - per-worker random numbers (asyncio seeds' random.uniform).
 *
 * splitmix64 (Steele, Lea, Flood 2014): one word of state, passes BigCrush,
 * no lock: each worker owns its state, seeded from braid_rt_opts.seed and
 * the worker's index, so a run on one worker with the same seed draws the
 * same numbers. Threads that are not workers use a thread-local state
 * seeded from the clock and the thread's address.
 */
#include "futex.h"
#include "internal.h"

static __thread uint64_t thread_state;

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t braid_rand_u64(void)
{
    braid__worker *w = braid__worker_current();
    if (w != NULL)
        return splitmix64(&w->urng);
    if (thread_state == 0)
        thread_state = (uint64_t)braid__clock_ns() ^ (uint64_t)(uintptr_t)&thread_state;
    return splitmix64(&thread_state);
}

double braid_rand_uniform(double lo, double hi)
{
    /* 53 random bits: uniform in [0, 1). */
    double u = (double)(braid_rand_u64() >> 11) * 0x1.0p-53;
    return lo + (hi - lo) * u;
}
