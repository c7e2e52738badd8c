/* timer.c - 4-ary min-heap of timers (see timer.h). O(log n) add, remove
 * and pop; the array grows by doubling and never shrinks (a warm heap does
 * not allocate). */
#include "timer.h"

#include <errno.h>
#include <stdlib.h>

static bool before(const braid__timer_entry *a, const braid__timer_entry *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void place(braid__timer_heap *h, size_t i, braid__timer_entry e)
{
    h->v[i] = e;
    e.node->index = i;
}

/* A 4-ary heap: half the depth of a binary one, and a node's four children
 * (24 bytes each) share one or two cache lines, so a pop touches about half
 * the lines (pops dominated 100,000-sleeper runs under callgrind). */
#define ARITY 4

static void sift_up(braid__timer_heap *h, size_t i)
{
    braid__timer_entry e = h->v[i];
    while (i > 0) {
        size_t p = (i - 1) / ARITY;
        if (!before(&e, &h->v[p]))
            break;
        place(h, i, h->v[p]);
        i = p;
    }
    place(h, i, e);
}

static void sift_down(braid__timer_heap *h, size_t i)
{
    braid__timer_entry e = h->v[i];
    for (;;) {
        size_t first = ARITY * i + 1;
        if (first >= h->n)
            break;
        size_t c = first, end = first + ARITY < h->n ? first + ARITY : h->n;
        for (size_t k = first + 1; k < end; k++)
            if (before(&h->v[k], &h->v[c]))
                c = k;
        if (!before(&h->v[c], &e))
            break;
        place(h, i, h->v[c]);
        i = c;
    }
    place(h, i, e);
}

static void publish_next(braid__timer_heap *h)
{
    /* Seq_cst: the park protocol reads it after a fence (worker.c). */
    braid__store_seqcst(&h->next, (uintptr_t)(h->n ? h->v[0].deadline : INT64_MAX));
}

void braid__timer_heap_init(braid__timer_heap *h)
{
    pthread_mutex_init(&h->lock, NULL);
    h->v = NULL;
    h->n = h->cap = 0;
    h->seq = 0;
    braid__store_relaxed(&h->next, (uintptr_t)INT64_MAX);
}

void braid__timer_heap_destroy(braid__timer_heap *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
    pthread_mutex_destroy(&h->lock);
}

int braid__timer_add(braid__timer_heap *h, braid__timer *t)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        braid__timer_entry *v = realloc(h->v, cap * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    t->seq = h->seq++;
    /* Relaxed enough (release is free): only read after a later lock. */
    braid__store32_release(&t->fired, 0);
    braid__timer_entry e = {t->deadline, t->seq, t};
    place(h, h->n++, e);
    sift_up(h, t->index);
    if (h->v[0].node == t)
        publish_next(h);
    return 0;
}

bool braid__timer_remove(braid__timer_heap *h, braid__timer *t)
{
    size_t i = t->index;
    if (i == BRAID__TIMER_NONE)
        return false;
    t->index = BRAID__TIMER_NONE;
    braid__timer_entry last = h->v[--h->n];
    if (last.node != t) {
        place(h, i, last);
        if (i > 0 && before(&last, &h->v[(i - 1) / ARITY]))
            sift_up(h, i);
        else
            sift_down(h, i);
    }
    if (i == 0)
        publish_next(h);
    return true;
}

braid__timer *braid__timer_pop_expired(braid__timer_heap *h, int64_t now)
{
    if (h->n == 0 || h->v[0].deadline > now)
        return NULL;
    braid__timer *t = h->v[0].node;
    braid__timer_remove(h, t);
    /* Release: a sleeper that reads 1 (acquire) without the lock knows the
     * firer is done with the node (it wakes the task and never looks at
     * the node again). */
    braid__store32_release(&t->fired, 1);
    return t;
}
