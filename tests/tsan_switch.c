/* tsan_switch.c - as many coroutine switches and steals per second as two
 * workers can make, for ThreadSanitizer to watch: every switch publishes
 * and acquires a task's context and state across threads, every steal
 * takes entries from another worker's deque. A plain program (no
 * Criterion), run in every build and sized for the TSan build.
 *
 * Rounds of three parts, until braid_rt_stats shows at least the asked
 * switches and steals:
 *   - yielders: tasks that braid_yield in a loop (the direct yield
 *     hand-off and the loop's yield queue), each counting its yields;
 *   - ping-pong pairs over capacity-1 channels (the waiting hand-off:
 *     a receiver woken by a sender runs next, often by a direct switch),
 *     checking every value, and a few pairs that migrate: a woken task
 *     may be stolen and resume on the other worker;
 *   - spawn bursts: one task spawns detached tiny tasks in bursts while
 *     the other worker is idle (it steals up to half of the deque at a
 *     time), counted down to an event; plus fork-join trees whose sums
 *     are exact.
 * Checks: every count and sum exact; spawned == completed, live == 0 at
 * the end; the switch and steal totals reach the targets.
 * Usage: tsan_switch [switches] [steals] [seed]. Prints
 * "tsan_switch: switches N steals M" and "N passed, N failed".
 */
#include <braid.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STRESS_NAME "tsan_switch"
#define STRESS_REPORTS 20
#include "stress_common.h"

/* ---- yielders ---------------------------------------------------------- */

static int64_t yielder(void *arg)
{
    long n = (long)(intptr_t)arg;
    long done = 0;
    for (long i = 0; i < n; i++)
        if (braid_yield() == 0)
            done++;
    return done;
}

/* ---- ping-pong ---------------------------------------------------------- */

typedef struct {
    braid_chan *to, *back;
    long n;
    uint64_t seed;
} pair;

static int64_t ping(void *arg)
{
    pair *p = arg;
    int64_t sum = 0;
    for (long i = 0; i < p->n; i++) {
        intptr_t v = (intptr_t)(mix(p->seed + (uint64_t)i) & 0xffff);
        if (braid_chan_send(p->to, v) != 0)
            return -EIO;
        intptr_t w;
        if (braid_chan_recv(p->back, &w) != 0 || w != v + 1)
            return -EILSEQ;
        sum += w;
    }
    return sum;
}

static int64_t pong(void *arg)
{
    pair *p = arg;
    for (long i = 0; i < p->n; i++) {
        intptr_t v;
        if (braid_chan_recv(p->to, &v) != 0)
            return -EIO;
        if (braid_chan_send(p->back, v + 1) != 0)
            return -EIO;
    }
    return 0;
}

static int64_t expected_pair(const pair *p)
{
    int64_t sum = 0;
    for (long i = 0; i < p->n; i++)
        sum += (int64_t)(mix(p->seed + (uint64_t)i) & 0xffff) + 1;
    return sum;
}

/* ---- bursts and trees ---------------------------------------------------- */

typedef struct {
    atomic_long left;
    atomic_long sum;
    atomic_long out; /* tasks past their last touch of the burst */
    braid_event *done;
} burst;

typedef struct {
    burst *b;
    long v;
} tiny_arg;

static int64_t tiny(void *arg)
{
    tiny_arg *t = arg;
    burst *b = t->b;
    atomic_fetch_add(&b->sum, t->v);
    if (atomic_fetch_sub(&b->left, 1) == 1)
        braid_event_set(b->done);
    atomic_fetch_add(&b->out, 1); /* the last touch: b may go after it */
    return 0;
}

/* Spawn n detached tiny tasks in bursts of k (yielding between bursts),
 * then wait until all ran. */
static int64_t burster(void *arg)
{
    long n = (long)(intptr_t)arg;
    burst b;
    atomic_init(&b.left, n);
    atomic_init(&b.sum, 0);
    atomic_init(&b.out, 0);
    CHECK(braid_event_new(&b.done) == 0);
    tiny_arg *args = malloc((size_t)n * sizeof *args);
    if (args == NULL)
        return -ENOMEM;
    for (long i = 0; i < n; i++) {
        args[i].b = &b;
        args[i].v = i + 1;
        CHECK(braid_spawn(NULL, tiny, &args[i]) == 0);
        if (i % 256 == 255)
            braid_yield(); /* let the thief come */
    }
    CHECK(braid_event_wait(b.done) == 0);
    CHECK(atomic_load(&b.left) == 0);
    while (atomic_load(&b.out) != n) /* the setter may still be in braid_event_set */
        braid_yield();
    CHECK(atomic_load(&b.sum) == (long)n * (n + 1) / 2);
    braid_event_free(b.done);
    free(args);
    return n;
}

/* A fork-join tree: 4 children per node; returns the number of leaves. */
static int64_t node(void *arg)
{
    unsigned depth = (unsigned)(uintptr_t)arg;
    if (depth == 0)
        return 1;
    braid_task *t[4];
    for (int i = 0; i < 4; i++)
        if (braid_spawn(&t[i], node, (void *)(uintptr_t)(depth - 1)) != 0)
            return -ENOMEM;
    int64_t sum = 0;
    for (int i = 3; i >= 0; i--) { /* newest first: the oldest get stolen */
        int64_t r = 0;
        CHECK(braid_await(t[i], &r) == 0);
        sum += r;
        braid_task_release(t[i]);
    }
    return sum;
}

/* ---- a round ------------------------------------------------------------ */

enum { YIELDERS = 16, PAIRS = 8 };

typedef struct {
    long yields;   /* per yielder */
    long pongs;    /* per pair */
    long burst;    /* tiny tasks */
    unsigned tree; /* depth */
    uint64_t seed;
} round_arg;

static int64_t round_root(void *arg)
{
    round_arg *ra = arg;
    braid_task *y[YIELDERS], *pi[PAIRS], *po[PAIRS], *bu, *tr;
    pair pr[PAIRS];
    CHECK(braid_spawn(&bu, burster, (void *)(intptr_t)ra->burst) == 0);
    CHECK(braid_spawn(&tr, node, (void *)(uintptr_t)ra->tree) == 0);
    for (int i = 0; i < YIELDERS; i++)
        CHECK(braid_spawn(&y[i], yielder, (void *)(intptr_t)ra->yields) == 0);
    for (int i = 0; i < PAIRS; i++) {
        CHECK(braid_chan_new(&pr[i].to, 1) == 0);
        CHECK(braid_chan_new(&pr[i].back, 1) == 0);
        pr[i].n = ra->pongs;
        pr[i].seed = mix(ra->seed + (uint64_t)i);
        CHECK(braid_spawn(&po[i], pong, &pr[i]) == 0);
        CHECK(braid_spawn(&pi[i], ping, &pr[i]) == 0);
    }
    for (int i = 0; i < YIELDERS; i++) {
        int64_t r = -1;
        CHECK(braid_await(y[i], &r) == 0);
        CHECK(r == ra->yields);
        braid_task_release(y[i]);
    }
    for (int i = 0; i < PAIRS; i++) {
        int64_t r = -1;
        CHECK(braid_await(pi[i], &r) == 0);
        CHECK(r == expected_pair(&pr[i]));
        braid_task_release(pi[i]);
        r = -1;
        CHECK(braid_await(po[i], &r) == 0 && r == 0);
        braid_task_release(po[i]);
        braid_chan_free(pr[i].to);
        braid_chan_free(pr[i].back);
    }
    int64_t r = -1;
    CHECK(braid_await(bu, &r) == 0 && r == ra->burst);
    braid_task_release(bu);
    r = -1;
    CHECK(braid_await(tr, &r) == 0 && r == (int64_t)1 << (2 * ra->tree));
    braid_task_release(tr);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t want_sw = argc > 1 ? strtoull(argv[1], NULL, 0) : 100000000ULL;
    uint64_t want_st = argc > 2 ? strtoull(argv[2], NULL, 0) : 1000000ULL;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 12345;
    printf("tsan_switch: seed %" PRIu64 ", at least %" PRIu64 " switches and %" PRIu64
           " steals\n",
           seed, want_sw, want_st);
    fflush(stdout);
    braid_rt *rt;
    if (stress_rt_new(&rt, 2, seed) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    round_arg ra = {.yields = 40000, .pongs = 2000, .burst = 20000, .tree = 3, .seed = seed};
    braid_stats st;
    int64_t t0 = braid_now();
    int rounds = 0;
    for (;;) {
        braid_rt_stats(rt, &st);
        if ((st.switches >= want_sw && st.stolen >= want_st) || atomic_load(&failures) > 0)
            break;
        if (rounds >= 100000) { /* the targets are out of reach: fail */
            CHECK(!"the targets were not reached");
            break;
        }
        /* Only the part still short of its target. */
        round_arg r = ra;
        r.seed = mix(seed + (uint64_t)rounds);
        if (st.switches >= want_sw)
            r.yields = r.pongs = 1;
        if (st.stolen >= want_st) {
            r.burst = 1;
            r.tree = 1;
        }
        CHECK(braid_rt_block_on(rt, round_root, &r, NULL) == 0);
        rounds++;
    }
    /* The last tiny tasks (detached) may still be ending: wait for them. */
    for (int i = 0; i < 10000; i++) {
        braid_rt_stats(rt, &st);
        if (st.live == 0)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    CHECK(st.live == 0);
    CHECK(st.spawned == st.completed);
    CHECK(st.switches >= want_sw);
    CHECK(st.stolen >= want_st);
    printf("tsan_switch: %d rounds, %" PRIu64 " tasks, %" PRIu64 " parks, %lld ms\n", rounds,
           st.spawned, st.parks, (long long)((braid_now() - t0) / BRAID_MSEC));
    printf("tsan_switch: switches %" PRIu64 " steals %" PRIu64 "\n", st.switches, st.stolen);
    CHECK(braid_rt_free(rt) == 0);
    int failed = atomic_load(&failures) != 0;
    printf("%d passed, %d failed\n", !failed, failed);
    return failed;
}
