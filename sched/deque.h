/* deque.h - the Chase-Lev work-stealing deque (owner LIFO, thieves FIFO).
 *
 * Owns: a growable ring of word-sized items with one owner thread that
 * pushes and takes at the bottom and any number of thieves that steal at the
 * top. Knows nothing of tasks: items are opaque non-zero words.
 *
 * Protocol (Chase & Lev, SPAA 2005; orderings from Le, Pop, Cohen and
 * Zappa Nardelli, PPoPP 2013, "Correct and efficient work-stealing for weak
 * memory models"):
 *   1. push: write the slot, then publish it with a release store of bottom.
 *   2. take: lower bottom with a seq_cst store, then read top seq_cst. If the
 *      deque still held more than one item, the bottom one is the owner's
 *      without further ado; if exactly one, owner and thieves race for it
 *      with a seq_cst CAS on top.
 *   3. steal: read top, then bottom (both seq_cst: the store-load pair with
 *      take's that makes them see each other), read the slot, then claim it
 *      with a seq_cst CAS of top; a failed CAS means somebody else got it.
 *   4. grow: the owner copies live items to a ring twice the size and
 *      publishes it with a release store; the old ring is kept (a thief may
 *      still read it) until the deque is destroyed. Total kept memory is less
 *      than twice the largest ring, and a warm deque never allocates.
 * Cost: push is two plain stores on x86; take pays one xchg (the store-load
 * barrier); steal pays one CAS.
 */
#ifndef BRAID_DEQUE_H
#define BRAID_DEQUE_H

#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

#define BRAID__CACHELINE 64

typedef struct braid__ring {
    size_t mask;              /* capacity - 1; capacity is a power of two */
    struct braid__ring *prev; /* older ring kept for late thieves (owner's list) */
    braid__aword slot[];
} braid__ring;

typedef struct braid__deque {
    /* Thieves' line: top is CASed by thieves and by take on the last item. */
    _Alignas(BRAID__CACHELINE) braid__aword top;
    char pad0[BRAID__CACHELINE - sizeof(braid__aword)];
    /* Owner's line: bottom and ring are written by the owner only, read by
     * thieves. */
    _Alignas(BRAID__CACHELINE) braid__aword bottom;
    braid__aword ring; /* braid__ring * */
    char pad1[BRAID__CACHELINE - 2 * sizeof(braid__aword)];
} braid__deque;

_Static_assert(offsetof(braid__deque, bottom) % BRAID__CACHELINE == 0, "owner line aligned");
_Static_assert(offsetof(braid__deque, bottom) - offsetof(braid__deque, top) >= BRAID__CACHELINE,
               "owner and thieves on separate cache lines");

/* Initialise with room for 2^log2cap items (log2cap >= 1). -ENOMEM. */
int braid__deque_init(braid__deque *d, unsigned log2cap);
/* Free all rings; no thread may touch the deque any more. */
void braid__deque_destroy(braid__deque *d);

/* The push when the ring is full (grows it). */
int braid__deque_push_slow(braid__deque *d, uintptr_t item);

/* Owner only. item != 0. Returns the depth after the push as the owner
 * sees it (>= 1; 1: it looked empty before, though thieves may have
 * emptied it further), or -ENOMEM if growing failed (the item is then not
 * pushed). Inline: it is the spawn path. */
static inline int braid__deque_push(braid__deque *d, uintptr_t item)
{
    /* Relaxed: only the owner writes bottom and the ring pointer. */
    intptr_t b = (intptr_t)braid__load_relaxed(&d->bottom);
    /* Acquire: pairs with the thieves' CAS of top, so the slots they took
     * are free for reuse before we overwrite them. */
    intptr_t t = (intptr_t)braid__load_acquire(&d->top);
    braid__ring *r = (braid__ring *)braid__load_relaxed(&d->ring);
    if (__builtin_expect(b - t > (intptr_t)r->mask, 0))
        return braid__deque_push_slow(d, item);
    /* Relaxed slot store: published by the release store of bottom. */
    braid__store_relaxed(&r->slot[(size_t)b & r->mask], item);
    /* Release: publishes the slot to thieves that read bottom (steal). */
    braid__store_release(&d->bottom, (uintptr_t)(b + 1));
    return b <= t ? 1 : (int)(b - t + 1);
}

/* Owner only: take the bottom item if it is `item`. Returns item, or 0 if
 * the bottom is something else, or the deque is empty, or a thief won the
 * last item. Inline: it is the await path. */
static inline uintptr_t braid__deque_take_if(braid__deque *d, uintptr_t item)
{
    /* Relaxed: only the owner writes bottom, the ring pointer and slots;
     * a stale top is smaller than the real one (the take below re-reads). */
    intptr_t b = (intptr_t)braid__load_relaxed(&d->bottom) - 1;
    braid__ring *r = (braid__ring *)braid__load_relaxed(&d->ring);
    if (b < (intptr_t)braid__load_relaxed(&d->top) || braid__load_relaxed(&r->slot[(size_t)b & r->mask]) != item)
        return 0;
    /* The same steps as braid__deque_take, with the slot already known. */
    braid__store_seqcst(&d->bottom, (uintptr_t)b);
    intptr_t t = (intptr_t)braid__load_seqcst(&d->top);
    if (t > b) {
        braid__store_relaxed(&d->bottom, (uintptr_t)(b + 1));
        return 0;
    }
    if (t == b) {
        uintptr_t expect = (uintptr_t)t;
        if (!braid__cas_seqcst(&d->top, &expect, (uintptr_t)(t + 1)))
            item = 0;
        braid__store_relaxed(&d->bottom, (uintptr_t)(b + 1));
    }
    return item;
}

/* Owner only. Returns the bottom item, or 0 if empty. */
uintptr_t braid__deque_take(braid__deque *d);

#define BRAID__STEAL_EMPTY ((uintptr_t)0)
#define BRAID__STEAL_RETRY ((uintptr_t)1) /* lost a race; the deque may hold more */
/* Any thread. Returns the top item, BRAID__STEAL_EMPTY, or BRAID__STEAL_RETRY.
 * Items must therefore be neither 0 nor 1. */
uintptr_t braid__deque_steal(braid__deque *d);

/* Any thread (the owner too): steal the top item if it is `item`. Returns
 * item, or 0 if the top is something else, the deque is empty, or another
 * thief won. Same orderings as braid__deque_steal. */
uintptr_t braid__deque_steal_if(braid__deque *d, uintptr_t item);

/* Any thread; a snapshot that may be stale by the time it returns. */
static inline intptr_t braid__deque_size(braid__deque *d)
{
    /* Relaxed: a hint for victim choice and statistics, never for a claim. */
    intptr_t b = (intptr_t)braid__load_relaxed(&d->bottom);
    intptr_t t = (intptr_t)braid__load_relaxed(&d->top);
    return b > t ? b - t : 0;
}

#endif
