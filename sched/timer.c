/* timer.c - 4-ary min-heap of timers with lazy removal (see timer.h).
 * O(log n) add and pop, O(1) removal (amortised O(log n) with the rebuilds);
 * the arrays grow by doubling and never shrink (a warm heap does not
 * allocate).
 *
 * Invariant: the top entry is never stale, so `next` is exact. */
#include "alloc.h"
#include "timer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A 4-ary heap: half the depth of a binary one. Entries are 16 bytes and
 * entry i is stored at mem[i + 3], so the four children of any node (4i+1
 * .. 4i+4, stored at 4(i+1) ..) fill exactly one 64-byte line. */
#define ARITY 4
#define OFF 3
#define E(h, i) ((h)->mem[(i) + OFF])
#define NO_SLOT UINT32_MAX
#define REBUILD_MIN 64 /* stale entries tolerated before a rebuild is considered */

static inline bool before(const braid__timer_entry *a, const braid__timer_entry *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && (int32_t)(a->seq - b->seq) < 0);
}

static void sift_up(braid__timer_heap *h, size_t i)
{
    braid__timer_entry e = E(h, i);
    while (i > 0) {
        size_t p = (i - 1) / ARITY;
        if (!before(&e, &E(h, p)))
            break;
        E(h, i) = E(h, p);
        i = p;
    }
    E(h, i) = e;
}

static void sift_down(braid__timer_heap *h, size_t i)
{
    braid__timer_entry e = E(h, i);
    size_t n = h->n;
    for (;;) {
        size_t first = ARITY * i + 1;
        if (first >= n)
            break;
        size_t c = first, end = first + ARITY < n ? first + ARITY : n;
        for (size_t k = first + 1; k < end; k++)
            if (before(&E(h, k), &E(h, c)))
                c = k;
        if (!before(&E(h, c), &e))
            break;
        E(h, i) = E(h, c);
        i = c;
    }
    E(h, i) = e;
}

/* ---- the slot table: live node pointer, stale (0), or free (odd) ---- */

static inline bool slot_live(const braid__timer_heap *h, uint32_t k)
{
    uintptr_t s = h->slots[k];
    return s != 0 && (s & 1) == 0;
}

static inline void slot_free(braid__timer_heap *h, uint32_t k)
{
    h->slots[k] = ((uintptr_t)h->free << 1) | 1;
    h->free = k;
}

static int slot_alloc(braid__timer_heap *h, braid__timer *t, uint32_t *out)
{
    if (h->free == NO_SLOT) {
        uint32_t n = h->nslots ? 2 * h->nslots : 64;
        if (n <= h->nslots || n == NO_SLOT)
            return -ENOMEM;
        uintptr_t *s = braid__realloc(h->slots, (size_t)n * sizeof *s);
        if (s == NULL)
            return -ENOMEM;
        h->slots = s;
        for (uint32_t k = n; k-- > h->nslots;)
            slot_free(h, k); /* lowest first out */
        h->nslots = n;
    }
    uint32_t k = h->free;
    h->free = (uint32_t)(h->slots[k] >> 1);
    h->slots[k] = (uintptr_t)t;
    *out = k;
    return 0;
}

/* ---- heap maintenance ------------------------------------------------ */

static void publish_next(braid__timer_heap *h)
{
    /* Seq_cst: the park protocol reads it after a fence (worker.c). */
    braid__store_seqcst(&h->next, (uintptr_t)(h->n ? E(h, 0).deadline : INT64_MAX));
}

static void drop_top(braid__timer_heap *h)
{
    if (--h->n > 0) {
        E(h, 0) = E(h, h->n);
        sift_down(h, 0);
    }
}

/* Restore the invariant: pop stale entries off the top. */
static void clean_top(braid__timer_heap *h)
{
    while (h->n > 0 && !slot_live(h, E(h, 0).slot)) {
        slot_free(h, E(h, 0).slot);
        h->nstale--;
        drop_top(h);
    }
}

/* Drop every stale entry and heapify what is left (Floyd, O(n)). */
static void rebuild(braid__timer_heap *h)
{
    size_t j = 0;
    for (size_t i = 0; i < h->n; i++) {
        braid__timer_entry e = E(h, i);
        if (slot_live(h, e.slot))
            E(h, j++) = e;
        else
            slot_free(h, e.slot);
    }
    h->n = j;
    h->nstale = 0;
    for (size_t i = j / ARITY + 1; i-- > 0;)
        if (i < j)
            sift_down(h, i);
}

static int grow(braid__timer_heap *h)
{
    size_t cap = h->cap ? 2 * h->cap : 64;
    /* (cap + 4) entries of 16 bytes: a multiple of 64 for aligned_alloc. */
    braid__timer_entry *m = braid__aligned_alloc(64, (cap + 4) * sizeof *m);
    if (m == NULL)
        return -ENOMEM;
    if (h->mem != NULL)
        memcpy(m + OFF, h->mem + OFF, h->n * sizeof *m);
    braid__aligned_free(h->mem);
    h->mem = m;
    h->cap = cap;
    return 0;
}

/* ---- interface ------------------------------------------------------- */

void braid__timer_heap_init(braid__timer_heap *h)
{
    pthread_mutex_init(&h->lock, NULL);
    h->mem = NULL;
    h->n = h->cap = h->nstale = 0;
    h->slots = NULL;
    h->nslots = 0;
    h->free = NO_SLOT;
    h->seq = 0;
    braid__store_relaxed(&h->next, (uintptr_t)INT64_MAX);
}

void braid__timer_heap_destroy(braid__timer_heap *h)
{
    braid__aligned_free(h->mem);
    braid__free(h->slots);
    h->mem = NULL;
    h->slots = NULL;
    h->n = h->cap = h->nstale = 0;
    h->nslots = 0;
    h->free = NO_SLOT;
    pthread_mutex_destroy(&h->lock);
}

int braid__timer_add(braid__timer_heap *h, braid__timer *t)
{
    if (h->n == h->cap && grow(h) != 0)
        return -ENOMEM;
    uint32_t k;
    if (slot_alloc(h, t, &k) != 0)
        return -ENOMEM;
    t->slot = k;
    /* Relaxed enough (release is free): only read after a later lock. */
    braid__store32_release(&t->fired, 0);
    size_t i = h->n++;
    E(h, i) = (braid__timer_entry){t->deadline, h->seq++, k};
    sift_up(h, i);
    if (E(h, 0).slot != k)
        return 0;
    publish_next(h);
    return 1;
}

bool braid__timer_remove(braid__timer_heap *h, braid__timer *t)
{
    uint32_t k = t->slot;
    if (k == BRAID__TIMER_NONE)
        return false;
    t->slot = BRAID__TIMER_NONE;
    if (E(h, 0).slot == k) { /* the earliest: take it out now, keep `next` exact */
        slot_free(h, k);
        drop_top(h);
        clean_top(h);
        publish_next(h);
        return true;
    }
    h->slots[k] = 0; /* stale: its entry goes when it surfaces or at a rebuild */
    if (++h->nstale > REBUILD_MIN && 2 * h->nstale > h->n)
        rebuild(h);
    return true;
}

unsigned braid__timer_pop_expired(braid__timer_heap *h, int64_t now, braid__timer **out,
                                  unsigned max)
{
    unsigned k = 0;
    while (k < max && h->n > 0 && E(h, 0).deadline <= now) {
        uint32_t s = E(h, 0).slot;
        braid__timer *t = (braid__timer *)h->slots[s]; /* live: the top never is stale */
        __builtin_prefetch(t, 1);
        out[k++] = t;
        slot_free(h, s);
        drop_top(h);
        clean_top(h);
    }
    if (k != 0)
        publish_next(h);
    return k;
}
