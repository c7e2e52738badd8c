/* deque_harness.h - the exactly-once stress harness shared by test_deque.c
 * (Criterion) and stress_deque.c (plain, for TSan): item encoding, the
 * shared state, the thief loop, thread start/stop and the owner's take.
 *
 * Items are never 0 or 1 (the deque's empty and retry answers): item i is
 * (i + 1) * 4. Every field shared between threads is a C11 atomic, so users
 * stay clean under ThreadSanitizer. Thread-creation failures return -1 and
 * the caller reports them in its own way.
 */
#ifndef BRAID_TEST_DEQUE_HARNESS_H
#define BRAID_TEST_DEQUE_HARNESS_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deque.h"

#define ITEM(i) ((uintptr_t)((i) + 1) * 4)
#define INDEX(item) ((size_t)((item) / 4) - 1)

typedef struct stress {
    braid__deque d;
    size_t n;
    _Atomic unsigned char *count; /* per item: how many times it was obtained */
    atomic_int ready;             /* thieves running */
    atomic_int go;                /* start line, so all threads overlap */
    atomic_int done;              /* owner finished and drained its deque */
    atomic_size_t bad;            /* items that were 0, 1, or out of range */
    atomic_size_t stolen;
    atomic_size_t retries;
    size_t taken;      /* owner thread only; read after join */
    size_t wrong_take; /* take returned an item other than the newest */
    size_t push_fail;
} stress;

/* xorshift64*: deterministic, so a failure reproduces. */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Returns 0, or -1 if memory ran out (nothing is left allocated then). */
static inline int stress_init(stress *s, size_t n, unsigned log2cap)
{
    memset(s, 0, sizeof(*s));
    if (braid__deque_init(&s->d, log2cap) != 0)
        return -1;
    s->n = n;
    s->count = calloc(n, sizeof(*s->count));
    if (s->count == NULL) {
        braid__deque_destroy(&s->d);
        return -1;
    }
    atomic_init(&s->ready, 0);
    atomic_init(&s->go, 0);
    atomic_init(&s->done, 0);
    atomic_init(&s->bad, 0);
    atomic_init(&s->stolen, 0);
    atomic_init(&s->retries, 0);
    return 0;
}

static inline void record(stress *s, uintptr_t item)
{
    if (item == 0 || item == 1 || item % 4 != 0 || INDEX(item) >= s->n) {
        atomic_fetch_add_explicit(&s->bad, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&s->count[INDEX(item)], 1, memory_order_relaxed);
}

static inline void *thief(void *arg)
{
    stress *s = arg;
    size_t mine = 0, retries = 0;
    atomic_fetch_add_explicit(&s->ready, 1, memory_order_relaxed);
    while (!atomic_load_explicit(&s->go, memory_order_acquire))
        braid__cpu_relax();
    for (;;) {
        /* Read done before stealing: if it was set, the deque was already
         * empty for good, so an EMPTY answer after it ends the loop. */
        int done = atomic_load_explicit(&s->done, memory_order_acquire);
        uintptr_t x = braid__deque_steal(&s->d);
        if (x == BRAID__STEAL_RETRY) {
            retries++;
            continue;
        }
        if (x == BRAID__STEAL_EMPTY) {
            if (done)
                break;
            continue;
        }
        record(s, x);
        mine++;
    }
    atomic_fetch_add_explicit(&s->stolen, mine, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->retries, retries, memory_order_relaxed);
    return NULL;
}

/* Start n thieves and release them together. -1 if a thread could not be
 * created (those already started are joined first). */
static inline int start_thieves(stress *s, pthread_t *t, int n)
{
    for (int i = 0; i < n; i++) {
        if (pthread_create(&t[i], NULL, thief, s) != 0) {
            atomic_store_explicit(&s->go, 1, memory_order_release);
            atomic_store_explicit(&s->done, 1, memory_order_release);
            for (int k = 0; k < i; k++)
                pthread_join(t[k], NULL);
            return -1;
        }
    }
    /* Start only once every thief runs, so that they overlap the owner. */
    while (atomic_load_explicit(&s->ready, memory_order_relaxed) < n)
        sched_yield();
    atomic_store_explicit(&s->go, 1, memory_order_release);
    return 0;
}

/* Tell the thieves the owner is done (its deque is empty for good) and
 * join them. -1 if a join failed. */
static inline int join_thieves(stress *s, pthread_t *t, int n)
{
    int err = 0;
    atomic_store_explicit(&s->done, 1, memory_order_release);
    for (int i = 0; i < n; i++)
        err |= pthread_join(t[i], NULL);
    return err ? -1 : 0;
}

/* After the join: items obtained never (*zero) and more than once (*many),
 * and the first such index (SIZE_MAX if none). */
static inline void stress_count(stress *s, size_t *zero, size_t *many, size_t *first_bad)
{
    *zero = *many = 0;
    *first_bad = SIZE_MAX;
    for (size_t i = 0; i < s->n; i++) {
        unsigned c = atomic_load_explicit(&s->count[i], memory_order_relaxed);
        if (c != 1 && *first_bad == SIZE_MAX)
            *first_bad = i;
        *zero += c == 0;
        *many += c > 1;
    }
}

static inline void owner_take(stress *s)
{
    uintptr_t x = braid__deque_take(&s->d);
    if (x != 0) {
        record(s, x);
        s->taken++;
    }
}

#endif
