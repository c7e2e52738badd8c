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
 *
 * The heap never writes to a node while sifting. Entries are 16 bytes
 * (deadline, sequence, slot) and name their node through a slot table; a
 * node knows only its slot. Removing a timer empties its slot and leaves a
 * stale entry behind, which is dropped when it reaches the top or when
 * stale entries outnumber live ones (the heap is then rebuilt, O(n)):
 * Go's runtime deletes timers the same lazy way. With 100,000 sleepers
 * the old scheme (an index in every node, updated at each sift step) took
 * a cache and TLB miss on a different stack at every level of every pop.
 */
#ifndef BRAID_TIMER_H
#define BRAID_TIMER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

#define BRAID__TIMER_NONE UINT32_MAX

typedef struct braid__timer {
    int64_t deadline;
    uint32_t slot;    /* in the heap's slot table; BRAID__TIMER_NONE when not armed */
    braid__a32 fired; /* set (release) under the lock once the firer is done with it */
    void *data;       /* for the owner of the node (the task to wake) */
} braid__timer;

typedef struct braid__timer_entry {
    int64_t deadline;
    uint32_t seq;  /* ties: compared modulo 2^32 (armed within 2^31 of each other) */
    uint32_t slot;
} braid__timer_entry;

typedef struct braid__timer_heap {
    pthread_mutex_t lock;
    braid__timer_entry *mem; /* 64-byte aligned; entry i lives at mem[i + 3] */
    size_t n, cap;           /* entries (live and stale), capacity */
    size_t nstale;           /* entries whose slot was emptied by a removal */
    uintptr_t *slots;        /* node pointer, or (next free << 1 | 1), or 0 (stale) */
    uint32_t nslots, free;   /* table size; head of the free list (UINT32_MAX: none) */
    uint32_t seq;
    braid__aword next; /* earliest deadline, as int64_t; written under lock */
} braid__timer_heap;

void braid__timer_heap_init(braid__timer_heap *h);
void braid__timer_heap_destroy(braid__timer_heap *h);

/* With h->lock held. Arm t (deadline set by the caller). Returns 1 if t is
 * now the earliest timer of the heap, 0 if not, -ENOMEM if the heap could
 * not grow (t is then not armed). */
int braid__timer_add(braid__timer_heap *h, braid__timer *t);
/* With h->lock held. Disarm t if it is armed; true if it was. */
bool braid__timer_remove(braid__timer_heap *h, braid__timer *t);
/* With h->lock held. Pop up to max timers whose deadline <= now into out,
 * earliest first; returns how many. They are out of the heap but not yet
 * marked: the caller, still holding the lock, finishes with each node
 * (reads its data, wakes its task) and then calls braid__timer_fired on
 * it, after which it must not touch the node again. The nodes are
 * prefetched (they sit on sleepers' stacks, all cold). */
unsigned braid__timer_pop_expired(braid__timer_heap *h, int64_t now, braid__timer **out,
                                  unsigned max);

static inline void braid__timer_fired(braid__timer *t)
{
    t->slot = BRAID__TIMER_NONE;
    /* Release: a sleeper that reads 1 (acquire) without the lock knows the
     * firer is done with the node and with the task it woke. */
    braid__store32_release(&t->fired, 1);
}

/* Lock-free peek at the earliest deadline (INT64_MAX if none). It may be
 * that of a removed timer: waking for it finds nothing and looks again. */
static inline int64_t braid__timer_next(braid__timer_heap *h)
{
    /* Relaxed: a hint. Whoever acts on it re-checks under the lock, and
     * the park protocol orders it with a fence (worker.c). */
    return (int64_t)braid__load_relaxed(&h->next);
}

#endif
