/* deque.c - Chase-Lev work-stealing deque; the protocol is in deque.h. */
#include "alloc.h"
#include "deque.h"

#include <errno.h>
#include <stdlib.h>

/* Zeroed: a thief that loaded bottom before a take emptied the deque and
 * the ring before a growth can read a slot of the new ring that nothing
 * was copied into (found by the Relacy model, tests/models). Its CAS of
 * top then fails and the value is dropped, but the read itself must not
 * touch uninitialised memory (MSan, valgrind). Growth is rare. */
static braid__ring *ring_new(size_t cap, braid__ring *prev)
{
    braid__ring *r = braid__calloc(1, sizeof(*r) + cap * sizeof(braid__aword));
    if (r == NULL)
        return NULL;
    r->mask = cap - 1;
    r->prev = prev;
    return r;
}

static inline uintptr_t ring_get(braid__ring *r, intptr_t i)
{
    /* Relaxed: the slot's publication is ordered by the release store of
     * bottom (push) that the reader acquired (steal's seq_cst load of bottom,
     * or program order for the owner). */
    return braid__load_relaxed(&r->slot[(size_t)i & r->mask]);
}

static inline void ring_put(braid__ring *r, intptr_t i, uintptr_t v)
{
    /* Relaxed: published by the release store of bottom that follows. */
    braid__store_relaxed(&r->slot[(size_t)i & r->mask], v);
}

int braid__deque_init(braid__deque *d, unsigned log2cap)
{
    if (log2cap < 1 || log2cap > 40)
        return -EINVAL;
    braid__ring *r = ring_new((size_t)1 << log2cap, NULL);
    if (r == NULL)
        return -ENOMEM;
    /* Relaxed: initialisation happens before the deque is shared; the thread
     * that starts the workers publishes it (pthread_create). */
    braid__store_relaxed(&d->top, 0);
    braid__store_relaxed(&d->bottom, 0);
    braid__store_relaxed(&d->ring, (uintptr_t)r);
    return 0;
}

void braid__deque_destroy(braid__deque *d)
{
    braid__ring *r = (braid__ring *)braid__load_relaxed(&d->ring);
    while (r != NULL) {
        braid__ring *prev = r->prev;
        braid__free(r);
        r = prev;
    }
    braid__store_relaxed(&d->ring, 0);
}

static braid__ring *grow(braid__deque *d, braid__ring *old, intptr_t t, intptr_t b)
{
    braid__ring *r = ring_new(2 * (old->mask + 1), old);
    if (r == NULL)
        return NULL;
    for (intptr_t i = t; i < b; i++)
        ring_put(r, i, ring_get(old, i));
    /* Release: a thief that loads the new ring (acquire in steal) sees the
     * copied slots. The old ring stays readable for thieves that loaded it
     * before this store; its slots in [t, b) are never overwritten. */
    braid__store_release(&d->ring, (uintptr_t)r);
    return r;
}

int braid__deque_push_slow(braid__deque *d, uintptr_t item)
{
    /* Relaxed: only the owner writes bottom and the ring pointer. */
    intptr_t b = (intptr_t)braid__load_relaxed(&d->bottom);
    /* Acquire: pairs with the thieves' CAS of top (see push). */
    intptr_t t = (intptr_t)braid__load_acquire(&d->top);
    braid__ring *r = (braid__ring *)braid__load_relaxed(&d->ring);
    if (b - t > (intptr_t)r->mask) {
        r = grow(d, r, t, b);
        if (r == NULL)
            return -ENOMEM;
    }
    braid__store_relaxed(&r->slot[(size_t)b & r->mask], item);
    /* Release: publishes the slot to thieves that read bottom (steal). */
    braid__store_release(&d->bottom, (uintptr_t)(b + 1));
    return b <= t ? 1 : (int)(b - t + 1);
}

uintptr_t braid__deque_take(braid__deque *d)
{
    /* Relaxed: only the owner writes bottom and the ring pointer. */
    intptr_t b = (intptr_t)braid__load_relaxed(&d->bottom) - 1;
    /* Cheap exit when empty. Relaxed top: it only grows, so a stale value
     * is smaller than the real one; if even it says empty, the deque is. */
    if (b < (intptr_t)braid__load_relaxed(&d->top))
        return 0;
    braid__ring *r = (braid__ring *)braid__load_relaxed(&d->ring);
    /* Seq_cst store then seq_cst load of top: the store-load order that
     * makes a concurrent thief either see the lowered bottom or have its
     * top increment seen here (pairs with steal's seq_cst loads). */
    braid__store_seqcst(&d->bottom, (uintptr_t)b);
    intptr_t t = (intptr_t)braid__load_seqcst(&d->top);
    if (t > b) { /* empty: restore */
        braid__store_relaxed(&d->bottom, (uintptr_t)(b + 1));
        return 0;
    }
    uintptr_t item = ring_get(r, b);
    if (t == b) {
        /* Last item: race the thieves for it. Seq_cst CAS: total order with
         * the thieves' CAS on top. */
        uintptr_t expect = (uintptr_t)t;
        if (!braid__cas_seqcst(&d->top, &expect, (uintptr_t)(t + 1)))
            item = 0;
        /* Relaxed: owner-only field; the deque is empty either way. */
        braid__store_relaxed(&d->bottom, (uintptr_t)(b + 1));
    }
    return item;
}


uintptr_t braid__deque_steal_if(braid__deque *d, uintptr_t item)
{
    /* Seq_cst loads: as in braid__deque_steal (pairs with take). */
    intptr_t t = (intptr_t)braid__load_seqcst(&d->top);
    intptr_t b = (intptr_t)braid__load_seqcst(&d->bottom);
    if (t >= b)
        return 0;
    /* Acquire: pairs with the release store in grow. */
    braid__ring *r = (braid__ring *)braid__load_acquire(&d->ring);
    if (ring_get(r, t) != item)
        return 0;
    uintptr_t expect = (uintptr_t)t;
    /* Seq_cst CAS: claims slot t against thieves and take's CAS. */
    if (!braid__cas_seqcst(&d->top, &expect, (uintptr_t)(t + 1)))
        return 0;
    return item;
}

uintptr_t braid__deque_steal(braid__deque *d)
{
    /* Seq_cst loads of top then bottom: pairs with take's seq_cst store of
     * bottom (see take). Seq_cst also gives acquire on bottom, which orders
     * the slot read after push's release store. */
    intptr_t t = (intptr_t)braid__load_seqcst(&d->top);
    intptr_t b = (intptr_t)braid__load_seqcst(&d->bottom);
    if (t >= b)
        return BRAID__STEAL_EMPTY;
    /* Acquire: pairs with the release store in grow, so the copied slots of
     * a new ring are visible. */
    braid__ring *r = (braid__ring *)braid__load_acquire(&d->ring);
    uintptr_t item = ring_get(r, t);
    uintptr_t expect = (uintptr_t)t;
    /* Seq_cst CAS: claims slot t against other thieves and take's CAS. */
    if (!braid__cas_seqcst(&d->top, &expect, (uintptr_t)(t + 1)))
        return BRAID__STEAL_RETRY;
    return item;
}
