/* timer.h - a heap of timers ordered by (deadline, sequence).
 *
 * Owns: the ordering and storage of armed timers. Does not know what a
 * timer wakes (the worker loop does that) nor what time it is (callers pass
 * "now"). Equal deadlines fire in the order they were armed (a rising
 * sequence number breaks ties, as libuv does).
 *
 * Each worker owns one heap, but other workers fire its expired timers when
 * they are idle (timer stealing), so every operation takes the heap's lock.
 * `next` mirrors the earliest deadline for lock-free peeks (INT64_MAX when
 * empty). Timer nodes live on the stack of whoever armed them and stay
 * valid until they are fired or removed under the lock.
 */
#ifndef BRAID_TIMER_H
#define BRAID_TIMER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

#define BRAID__TIMER_NONE ((size_t)-1)

typedef struct braid__timer {
    int64_t deadline;
    uint64_t seq;
    size_t index; /* position in the heap, BRAID__TIMER_NONE when not armed */
    braid__a32 fired; /* set (release) under the lock when popped as expired */
    void *data;   /* for the owner of the node (the task to wake) */
} braid__timer;

/* Heap entries carry the ordering key inline, so sifting compares within
 * the array instead of chasing nodes that sit on sleepers' stacks (one
 * cache miss per node touched: with 100,000 sleepers that dominated). */
typedef struct braid__timer_entry {
    int64_t deadline;
    uint64_t seq;
    braid__timer *node;
} braid__timer_entry;

typedef struct braid__timer_heap {
    pthread_mutex_t lock;
    braid__timer_entry *v;
    size_t n, cap;
    uint64_t seq;
    braid__aword next; /* earliest deadline, as int64_t; written under lock */
} braid__timer_heap;

void braid__timer_heap_init(braid__timer_heap *h);
void braid__timer_heap_destroy(braid__timer_heap *h);

/* With h->lock held. Arm t (deadline set by the caller). Returns 0, or
 * -ENOMEM if the heap could not grow. */
int braid__timer_add(braid__timer_heap *h, braid__timer *t);
/* With h->lock held. Disarm t if it is armed; true if it was. */
bool braid__timer_remove(braid__timer_heap *h, braid__timer *t);
/* With h->lock held. Pop the earliest timer if its deadline <= now (marks
 * it fired), else NULL. */
braid__timer *braid__timer_pop_expired(braid__timer_heap *h, int64_t now);

/* Lock-free peek at the earliest deadline (INT64_MAX if none). */
static inline int64_t braid__timer_next(braid__timer_heap *h)
{
    /* Relaxed: a hint. Whoever acts on it re-checks under the lock, and
     * the park protocol orders it with a fence (worker.c). */
    return (int64_t)braid__load_relaxed(&h->next);
}

#endif
