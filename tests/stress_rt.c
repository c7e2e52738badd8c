/* stress_rt.c - a seeded storm of spawn, await, yield and cancel across
 * workers, as a plain program (no Criterion) so that it also runs under
 * ThreadSanitizer. Invariants checked:
 *   - every spawned task runs its body at most once and ends exactly once;
 *   - a task reports -ECANCELED only if it was cancelled (yields and
 *     sleeps are cancelled alike);
 *   - tree sums are exact (no task lost, none run twice);
 *   - channel, mutex, future and group traffic adds up exactly;
 *   - the runtime ends with spawned == completed, and frees cleanly.
 * Usage: stress_rt [seed] [rounds]. Prints the seed so a failure can be
 * replayed, and a final "N passed, N failed" line.
 */
#include <braid.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long bodies, cancels_seen, failures;

#define CHECK(c)                                                                         \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            fprintf(stderr, "stress_rt: check failed at line %d: %s\n", __LINE__, #c);  \
            atomic_fetch_add(&failures, 1);                                              \
        }                                                                                \
    } while (0)

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* A node: depth and a seed; returns the number of leaves below it. */
static int64_t node(void *arg)
{
    uint64_t v = (uint64_t)(uintptr_t)arg;
    unsigned depth = (unsigned)(v & 7);
    uint64_t seed = v >> 3;
    atomic_fetch_add(&bodies, 1);
    if (depth == 0) {
        if (seed % 3 == 0)
            braid_yield();
        return 1;
    }
    enum { K = 4 };
    braid_task *t[K];
    for (int i = 0; i < K; i++) {
        uint64_t s = mix(seed * 31 + (uint64_t)i) & 0x0fffffffffffULL;
        if (braid_spawn(&t[i], node, (void *)(uintptr_t)((s << 3) | (depth - 1))) != 0)
            return -ENOMEM;
    }
    if (seed % 5 == 0)
        braid_yield();
    int64_t sum = 0;
    /* Await in an order chosen by the seed: bottom first, top first, or mixed. */
    for (int k = 0; k < K; k++) {
        int i = (seed % 3 == 0) ? k : (seed % 3 == 1) ? K - 1 - k : (k * 3) % K;
        int64_t r = 0;
        int err = braid_await(t[i], &r);
        CHECK(err == 0);
        sum += r;
        braid_task_release(t[i]);
    }
    return sum;
}

static int64_t spinner(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        /* Mostly yields, some short sleeps (timers armed, fired, stolen
         * and cancelled across workers). */
        int err = (i + n) % 7 == 0 ? braid_sleep((i % 3) * 100000) : braid_yield();
        if (err == -ECANCELED) {
            atomic_fetch_add(&cancels_seen, 1);
            return -ECANCELED;
        }
    }
    return n;
}

static int64_t cancel_storm(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    enum { N = 200 };
    braid_task *t[N];
    int cancelled[N];
    for (int i = 0; i < N; i++) {
        uint64_t r = mix(seed + (uint64_t)i);
        CHECK(braid_spawn(&t[i], spinner, (void *)(intptr_t)(r % 50)) == 0);
        cancelled[i] = 0;
        if (r % 4 == 0)
            braid_yield();
        if ((r >> 8) % 3 == 0) { /* cancel some, at random moments */
            int prev = i > 0 ? i - 1 : i;
            cancelled[prev] |= braid_cancel(t[prev]) == 1;
        }
    }
    for (int i = 0; i < N; i++) {
        int64_t v = 0;
        int err = braid_await(t[i], &v);
        if (err == -ECANCELED)
            CHECK(cancelled[i]);
        else
            CHECK(err == 0);
        braid_task_release(t[i]);
    }
    return 0;
}

/* Sync storm: producers and consumers over a small channel, a mutex-held
 * counter, a future resolved by a plain pthread while coroutines on every
 * worker await it, and a group. Checks exact sums (TSan sees every lock
 * and hand-off). */
typedef struct {
    braid_chan *ch;
    braid_mutex *mx;
    braid_future *fut;
    long counter; /* under mx */
    long per_producer;
} storm;

static int64_t producer(void *arg)
{
    storm *s = arg;
    for (long i = 1; i <= s->per_producer; i++)
        if (braid_chan_send(s->ch, (intptr_t)i) != 0)
            return -1;
    return 0;
}

static int64_t consumer(void *arg)
{
    storm *s = arg;
    int64_t sum = 0;
    intptr_t v;
    while (braid_chan_recv(s->ch, &v) == 0) {
        sum += v;
        if (braid_mutex_lock(s->mx) != 0)
            return -1;
        long c = s->counter;
        if (v % 16 == 0)
            braid_yield(); /* hold the lock across a suspension */
        s->counter = c + 1;
        braid_mutex_unlock(s->mx);
    }
    int64_t fv = 0;
    if (braid_future_await(s->fut, &fv) != 0 || fv != 42)
        return -1;
    return sum;
}

static void *resolver(void *arg)
{
    storm *s = arg;
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    braid_future_resolve(s->fut, 42);
    return NULL;
}

static int64_t sync_storm(void *arg)
{
    (void)arg;
    enum { P = 4, C = 4 };
    storm s = {.per_producer = 2000};
    CHECK(braid_chan_new(&s.ch, 8) == 0);
    CHECK(braid_mutex_new(&s.mx) == 0);
    CHECK(braid_future_new(&s.fut) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, resolver, &s) == 0);
    braid_group *prod;
    CHECK(braid_group_new(&prod) == 0);
    braid_task *cons[C];
    for (int i = 0; i < C; i++)
        CHECK(braid_spawn(&cons[i], consumer, &s) == 0);
    for (int i = 0; i < P; i++)
        CHECK(braid_group_spawn(prod, NULL, producer, &s) == 0);
    CHECK(braid_group_wait(prod) == 0);
    braid_group_free(prod);
    braid_chan_close(s.ch);
    int64_t total = 0;
    for (int i = 0; i < C; i++) {
        int64_t r = 0;
        CHECK(braid_await(cons[i], &r) == 0);
        total += r;
        braid_task_release(cons[i]);
    }
    pthread_join(th, NULL);
    CHECK(total == (int64_t)P * s.per_producer * (s.per_producer + 1) / 2);
    CHECK(s.counter == P * s.per_producer);
    braid_chan_free(s.ch);
    braid_mutex_free(s.mx);
    braid_future_free(s.fut);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 12345;
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    printf("stress_rt: seed %llu, %d rounds\n", (unsigned long long)seed, rounds);
    int passed = 0, failed = 0;
    for (unsigned workers = 1; workers <= 4; workers *= 2) {
        long before = atomic_load(&failures);
        braid_rt_opts o;
        braid_rt_opts_init(&o);
        o.workers = workers;
        o.seed = seed;
        braid_rt *rt;
        if (braid_rt_new(&rt, &o) != 0) {
            failed++;
            continue;
        }
        for (int r = 0; r < rounds; r++) {
            uint64_t s = mix(seed + (uint64_t)r) & 0x0fffffffffffULL;
            int64_t leaves = 0;
            int err = braid_rt_block_on(rt, node, (void *)(uintptr_t)((s << 3) | 6), &leaves);
            CHECK(err == 0);
            CHECK(leaves == 4096);
            CHECK(braid_rt_block_on(rt, cancel_storm, (void *)(uintptr_t)s, NULL) == 0);
            if (r % 5 == 0)
                CHECK(braid_rt_block_on(rt, sync_storm, NULL, NULL) == 0);
        }
        braid_stats st;
        braid_rt_stats(rt, &st);
        CHECK(st.live == 0);
        CHECK(st.spawned == st.completed);
        printf("stress_rt: %u workers: %llu tasks, %llu inline, %llu stolen, %llu parks\n", workers,
               (unsigned long long)st.spawned, (unsigned long long)st.inlined,
               (unsigned long long)st.stolen, (unsigned long long)st.parks);
        CHECK(braid_rt_free(rt) == 0);
        if (atomic_load(&failures) == before)
            passed++;
        else
            failed++;
    }
    printf("stress_rt: %ld bodies run, %ld cancellations seen\n", atomic_load(&bodies),
           atomic_load(&cancels_seen));
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
