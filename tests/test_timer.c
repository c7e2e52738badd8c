/* test_timer.c - the timer heap against a reference model: random arms,
 * removals and pops (with equal deadlines, so FIFO tie-breaking is
 * exercised), checking every popped timer is the model's earliest, that
 * removal works on any entry (top or not), that stale entries never
 * surface, and that rebuilds keep the order. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "timer.h"

/* One expired timer at a time, marked fired as the worker loop does. */
static braid__timer *pop1(braid__timer_heap *h, int64_t now)
{
    braid__timer *t;
    if (braid__timer_pop_expired(h, now, &t, 1) == 0)
        return NULL;
    cr_assert_eq(braid__load32_acquire(&t->fired), 0, "marked fired before its firer was done");
    braid__timer_fired(t);
    return t;
}

enum { N = 4096 };

typedef struct {
    braid__timer t;
    bool armed;
    uint64_t order; /* arming order, for the model's ties */
} node;

static node nodes[N];

/* The model: the earliest armed node by (deadline, arming order). */
static node *model_min(void)
{
    node *m = NULL;
    for (int i = 0; i < N; i++)
        if (nodes[i].armed && (m == NULL || nodes[i].t.deadline < m->t.deadline ||
                               (nodes[i].t.deadline == m->t.deadline && nodes[i].order < m->order)))
            m = &nodes[i];
    return m;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

Test(timer, matches_model_under_random_ops)
{
    braid__timer_heap h;
    braid__timer_heap_init(&h);
    uint64_t order = 0;
    int armed = 0;
    for (int i = 0; i < N; i++)
        nodes[i].t.slot = BRAID__TIMER_NONE; /* as braid__park arms them */
    for (int step = 0; step < 200000; step++) {
        unsigned op = (unsigned)(next_rand() % 10);
        node *x = &nodes[next_rand() % N];
        if (op < 5 && !x->armed) { /* arm */
            x->t.deadline = (int64_t)(next_rand() % 64); /* many ties */
            x->t.data = x;
            node *before_min = model_min();
            int r = braid__timer_add(&h, &x->t);
            cr_assert(r == 0 || r == 1, "add returned %d", r);
            x->armed = true;
            x->order = order++;
            armed++;
            cr_assert_eq(r == 1, model_min() == x && before_min != x,
                         "add's 'earliest' result disagrees with the model");
        } else if (op < 8) { /* remove (armed or not) */
            bool was = x->armed;
            cr_assert_eq(braid__timer_remove(&h, &x->t), was);
            if (was) {
                x->armed = false;
                armed--;
            }
            cr_assert(!braid__timer_remove(&h, &x->t), "a second remove disarmed again");
        } else { /* pop everything due by a random time */
            int64_t now = (int64_t)(next_rand() % 64);
            braid__timer *t;
            while ((t = pop1(&h, now)) != NULL) {
                node *m = model_min();
                cr_assert(m != NULL && t == &m->t, "popped out of order at step %d", step);
                cr_assert_leq(t->deadline, now);
                cr_assert_eq(braid__load32_acquire(&t->fired), 1);
                m->armed = false;
                armed--;
            }
            node *m = model_min();
            cr_assert(m == NULL || m->t.deadline > now, "an expired timer was not popped");
        }
        node *m = model_min();
        cr_assert_eq(braid__timer_next(&h), m ? m->t.deadline : INT64_MAX,
                     "next is not the earliest live deadline at step %d", step);
    }
    /* Drain: everything still armed comes out in order. */
    braid__timer *t;
    while ((t = pop1(&h, INT64_MAX)) != NULL) {
        node *m = model_min();
        cr_assert(t == &m->t);
        m->armed = false;
        armed--;
    }
    cr_assert_eq(armed, 0);
    braid__timer_heap_destroy(&h);
}

Test(timer, mass_removal_rebuilds_and_keeps_order)
{
    static braid__timer t[20000];
    braid__timer_heap h;
    braid__timer_heap_init(&h);
    for (int i = 0; i < 20000; i++) {
        t[i].slot = BRAID__TIMER_NONE;
        t[i].deadline = 20000 - i;
        cr_assert_geq(braid__timer_add(&h, &t[i]), 0);
    }
    /* Remove all but every 100th, never the top: stale entries pile up. */
    for (int i = 0; i < 19999; i++)
        if (i % 100 != 0)
            cr_assert(braid__timer_remove(&h, &t[i]));
    cr_assert_lt(h.n, 20000, "no rebuild happened (%zu entries)", h.n);
    int64_t last = -1;
    int popped = 0;
    braid__timer *x;
    while ((x = pop1(&h, INT64_MAX)) != NULL) {
        cr_assert_gt(x->deadline, last);
        cr_assert((x - t) % 100 == 0 || x - t == 19999, "a removed timer fired");
        last = x->deadline;
        popped++;
    }
    cr_assert_eq(popped, 201);
    cr_assert_eq(h.n, 0);
    /* Batches: earliest first, at most max, only what is due. */
    for (int i = 0; i < 100; i++) {
        t[i].slot = BRAID__TIMER_NONE;
        t[i].deadline = 100 - i; /* 1 .. 100 */
        cr_assert_geq(braid__timer_add(&h, &t[i]), 0);
    }
    braid__timer *out[64];
    cr_assert_eq(braid__timer_pop_expired(&h, 70, out, 64), 64);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(out[i]->deadline, i + 1);
    cr_assert_eq(braid__timer_pop_expired(&h, 70, out, 64), 6);
    cr_assert_eq(out[5]->deadline, 70);
    cr_assert_eq(braid__timer_pop_expired(&h, 70, out, 64), 0);
    cr_assert_eq(braid__timer_next(&h), 71);
    braid__timer_heap_destroy(&h);
}
