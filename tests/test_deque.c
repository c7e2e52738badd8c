/* test_deque.c - the Chase-Lev deque (sched/deque.h): single-thread
 * semantics (LIFO take, FIFO steal, emptiness, growth, a reference model) and
 * multi-thread exactly-once stress (owner push/take against thieves, and the
 * race for the last item).
 *
 * Items are never 0 or 1 (those are the empty and retry answers): item i is
 * encoded as (i + 1) * 4 throughout.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "deque_harness.h"

static uintptr_t ring_of(braid__deque *d)
{
    return braid__load_relaxed(&d->ring);
}

/* ------------------------------------------------------------------------ */
/* Single thread                                                            */
/* ------------------------------------------------------------------------ */

Test(deque, init_rejects_bad_log2cap)
{
    braid__deque d;
    cr_assert_eq(braid__deque_init(&d, 0), -EINVAL);
    cr_assert_eq(braid__deque_init(&d, 41), -EINVAL);
    cr_assert_eq(braid__deque_init(&d, 64), -EINVAL);
    cr_assert_eq(braid__deque_init(&d, UINT_MAX), -EINVAL);
    /* The smallest legal size works. */
    cr_assert_eq(braid__deque_init(&d, 1), 0);
    cr_assert_eq(braid__deque_size(&d), 0);
    braid__deque_destroy(&d);
}

Test(deque, empty_answers)
{
    braid__deque d;
    cr_assert_eq(braid__deque_init(&d, 3), 0);
    cr_assert_eq(braid__deque_size(&d), 0);
    cr_assert_eq(braid__deque_take(&d), 0);
    cr_assert_eq(braid__deque_steal(&d), BRAID__STEAL_EMPTY);
    /* A take on an empty deque must leave it usable (bottom restored). */
    cr_assert_eq(braid__deque_size(&d), 0);
    cr_assert_eq(braid__deque_take(&d), 0);
    cr_assert_eq(braid__deque_take(&d), 0);
    cr_assert_eq(braid__deque_push(&d, ITEM(7)), 1, "push onto an empty deque says so");
    cr_assert_eq(braid__deque_size(&d), 1);
    cr_assert_eq(braid__deque_steal(&d), ITEM(7));
    cr_assert_eq(braid__deque_take(&d), 0);
    cr_assert_eq(braid__deque_steal(&d), BRAID__STEAL_EMPTY);
    cr_assert_eq(braid__deque_push(&d, ITEM(8)), 1);
    cr_assert_eq(braid__deque_push(&d, ITEM(9)), 2, "push onto a non-empty deque: its depth");
    cr_assert_eq(braid__deque_take(&d), ITEM(9));
    cr_assert_eq(braid__deque_take(&d), ITEM(8));
    cr_assert_eq(braid__deque_take(&d), 0);
    cr_assert_eq(braid__deque_steal(&d), BRAID__STEAL_EMPTY);
    cr_assert_eq(braid__deque_size(&d), 0);
    braid__deque_destroy(&d);
}

Test(deque, take_if_takes_only_the_bottom_item)
{
    braid__deque d;
    cr_assert_eq(braid__deque_init(&d, 2), 0);
    cr_assert_eq(braid__deque_take_if(&d, ITEM(1)), 0, "empty");
    for (int i = 1; i <= 3; i++)
        cr_assert_geq(braid__deque_push(&d, ITEM(i)), 0);
    cr_assert_eq(braid__deque_take_if(&d, ITEM(1)), 0, "not at the bottom");
    cr_assert_eq(braid__deque_take_if(&d, ITEM(2)), 0, "not at the bottom");
    cr_assert_eq(braid__deque_size(&d), 3, "a refused take_if changes nothing");
    cr_assert_eq(braid__deque_take_if(&d, ITEM(3)), ITEM(3));
    cr_assert_eq(braid__deque_take_if(&d, ITEM(2)), ITEM(2));
    cr_assert_eq(braid__deque_steal(&d), ITEM(1));
    cr_assert_eq(braid__deque_take_if(&d, ITEM(1)), 0, "stolen: gone");
    cr_assert_eq(braid__deque_size(&d), 0);
    cr_assert_eq(braid__deque_push(&d, ITEM(4)), 1, "still usable");
    cr_assert_eq(braid__deque_take_if(&d, ITEM(4)), ITEM(4), "the last item");
    braid__deque_destroy(&d);
}

Test(deque, take_is_lifo)
{
    braid__deque d;
    cr_assert_eq(braid__deque_init(&d, 4), 0);
    for (int i = 0; i < 10; i++) {
        cr_assert_geq(braid__deque_push(&d, ITEM(i)), 0);
        cr_assert_eq(braid__deque_size(&d), i + 1);
    }
    for (int i = 9; i >= 0; i--) {
        uintptr_t x = braid__deque_take(&d);
        cr_assert_eq(x, ITEM(i), "take %d: got %zu, want %zu", 9 - i, (size_t)x, (size_t)ITEM(i));
        cr_assert_eq(braid__deque_size(&d), i);
    }
    cr_assert_eq(braid__deque_take(&d), 0);
    braid__deque_destroy(&d);
}

Test(deque, steal_is_fifo)
{
    braid__deque d;
    cr_assert_eq(braid__deque_init(&d, 4), 0);
    for (int i = 0; i < 10; i++)
        cr_assert_geq(braid__deque_push(&d, ITEM(i)), 0);
    for (int i = 0; i < 10; i++) {
        uintptr_t x = braid__deque_steal(&d);
        /* Nobody competes, so a steal never loses a race. */
        cr_assert_neq(x, BRAID__STEAL_RETRY);
        cr_assert_eq(x, ITEM(i), "steal %d: got %zu, want %zu", i, (size_t)x, (size_t)ITEM(i));
        cr_assert_eq(braid__deque_size(&d), 9 - i);
    }
    cr_assert_eq(braid__deque_steal(&d), BRAID__STEAL_EMPTY);
    cr_assert_eq(braid__deque_take(&d), 0);
    braid__deque_destroy(&d);
}

Test(deque, both_ends)
{
    /* Owner and thief work opposite ends of the same sequence. */
    braid__deque d;
    cr_assert_eq(braid__deque_init(&d, 2), 0);
    for (int i = 0; i < 6; i++)
        cr_assert_geq(braid__deque_push(&d, ITEM(i)), 0);
    cr_assert_eq(braid__deque_steal(&d), ITEM(0));
    cr_assert_eq(braid__deque_take(&d), ITEM(5));
    cr_assert_eq(braid__deque_steal(&d), ITEM(1));
    cr_assert_eq(braid__deque_take(&d), ITEM(4));
    cr_assert_geq(braid__deque_push(&d, ITEM(6)), 0);
    cr_assert_eq(braid__deque_steal(&d), ITEM(2));
    cr_assert_eq(braid__deque_take(&d), ITEM(6));
    /* Exactly one left: the owner's take must win it alone. */
    cr_assert_eq(braid__deque_size(&d), 1);
    cr_assert_eq(braid__deque_take(&d), ITEM(3));
    cr_assert_eq(braid__deque_take(&d), 0);
    cr_assert_eq(braid__deque_steal(&d), BRAID__STEAL_EMPTY);
    braid__deque_destroy(&d);
}

static void growth_keeps_everything(unsigned log2cap)
{
    enum { N = 10000 };
    braid__deque d;
    cr_assert_eq(braid__deque_init(&d, log2cap), 0);
    for (int i = 0; i < N; i++)
        cr_assert_geq(braid__deque_push(&d, ITEM(i)), 0, "push %d failed", i);
    cr_assert_eq(braid__deque_size(&d), N);
    /* The bottom half comes back by take in LIFO order, the top half by
     * steal in FIFO order: every item exactly once, in place. */
    for (int i = N - 1; i >= N / 2; i--) {
        uintptr_t x = braid__deque_take(&d);
        cr_assert_eq(x, ITEM(i), "take: got %zu, want %zu", (size_t)x, (size_t)ITEM(i));
    }
    for (int i = 0; i < N / 2; i++) {
        uintptr_t x = braid__deque_steal(&d);
        cr_assert_eq(x, ITEM(i), "steal: got %zu, want %zu", (size_t)x, (size_t)ITEM(i));
    }
    cr_assert_eq(braid__deque_size(&d), 0);
    cr_assert_eq(braid__deque_take(&d), 0);
    cr_assert_eq(braid__deque_steal(&d), BRAID__STEAL_EMPTY);
    braid__deque_destroy(&d);
}

Test(deque, growth_from_log2cap_1)
{
    growth_keeps_everything(1);
}

Test(deque, growth_from_log2cap_2)
{
    growth_keeps_everything(2);
}

Test(deque, growth_with_offset_top)
{
    /* Grow while top is far from 0 and the live window wraps the ring: the
     * copy must move slots [top, bottom), not [0, n). */
    braid__deque d;
    cr_assert_eq(braid__deque_init(&d, 2), 0);
    int next = 0, first = 0;
    for (int round = 0; round < 7; round++) { /* top advances to 7*3 = 21 */
        for (int k = 0; k < 3; k++)
            cr_assert_geq(braid__deque_push(&d, ITEM(next++)), 0);
        for (int k = 0; k < 3; k++)
            cr_assert_eq(braid__deque_steal(&d), ITEM(first++));
    }
    for (int k = 0; k < 100; k++) /* grows 4 -> 128 from top = 21 */
        cr_assert_geq(braid__deque_push(&d, ITEM(next++)), 0);
    while (first < next) {
        uintptr_t x = braid__deque_steal(&d);
        cr_assert_eq(x, ITEM(first), "got %zu, want %zu", (size_t)x, (size_t)ITEM(first));
        first++;
    }
    cr_assert_eq(braid__deque_steal(&d), BRAID__STEAL_EMPTY);
    braid__deque_destroy(&d);
}

Test(deque, warm_deque_does_not_grow)
{
    /* A full ring holds exactly its capacity; slots freed by steals are
     * reused instead of growing (deque.h: "a warm deque never allocates"). */
    braid__deque d;
    cr_assert_eq(braid__deque_init(&d, 2), 0);
    uintptr_t r0 = ring_of(&d);
    int next = 0, first = 0;
    for (int round = 0; round < 1000; round++) {
        for (int k = 0; k < 4; k++)
            cr_assert_geq(braid__deque_push(&d, ITEM(next++)), 0);
        for (int k = 0; k < 4; k++)
            cr_assert_eq(braid__deque_steal(&d), ITEM(first++));
    }
    cr_assert_eq(ring_of(&d), r0, "the ring was replaced although never more than 4 items were live");
    for (int k = 0; k < 4; k++)
        cr_assert_geq(braid__deque_push(&d, ITEM(next++)), 0);
    cr_assert_eq(ring_of(&d), r0);
    cr_assert_geq(braid__deque_push(&d, ITEM(next++)), 0); /* the fifth live item */
    cr_assert_neq(ring_of(&d), r0, "5 live items in a ring of 4");
    for (int k = 0; k < 5; k++)
        cr_assert_eq(braid__deque_steal(&d), ITEM(first++));
    cr_assert_eq(braid__deque_steal(&d), BRAID__STEAL_EMPTY);
    braid__deque_destroy(&d);
}

static void against_model(unsigned log2cap, uint64_t seed)
{
    /* Reference model: a plain array window [head, tail). */
    enum { OPS = 200000 };
    uintptr_t *model = malloc(OPS * sizeof(*model));
    cr_assert_not_null(model);
    size_t head = 0, tail = 0;
    uintptr_t next = 0;
    braid__deque d;
    cr_assert_eq(braid__deque_init(&d, log2cap), 0);
    uint64_t s = seed;
    for (int op = 0; op < OPS; op++) {
        unsigned r = (unsigned)(rng_next(&s) % 8);
        if (r < 4) { /* push, biased so the deque grows over time */
            uintptr_t v = ITEM(next++);
            cr_assert_eq(braid__deque_push(&d, v), (int)(tail - head) + 1,
                         "op %d push: the depth after it", op);
            model[tail++] = v;
        } else if (r < 6) { /* take */
            uintptr_t want = tail > head ? model[--tail] : 0;
            uintptr_t got = braid__deque_take(&d);
            cr_assert_eq(got, want, "op %d take: got %zu, want %zu", op, (size_t)got, (size_t)want);
        } else { /* steal */
            uintptr_t want = tail > head ? model[head++] : BRAID__STEAL_EMPTY;
            uintptr_t got = braid__deque_steal(&d);
            cr_assert_eq(got, want, "op %d steal: got %zu, want %zu", op, (size_t)got, (size_t)want);
        }
        cr_assert_eq(braid__deque_size(&d), (intptr_t)(tail - head), "op %d size", op);
    }
    while (tail > head) {
        uintptr_t got = braid__deque_take(&d);
        cr_assert_eq(got, model[--tail]);
    }
    cr_assert_eq(braid__deque_take(&d), 0);
    cr_assert_eq(braid__deque_steal(&d), BRAID__STEAL_EMPTY);
    braid__deque_destroy(&d);
    free(model);
}

Test(deque, interleaved_matches_model_log2cap_1)
{
    against_model(1, 0x9E3779B97F4A7C15ULL);
}

Test(deque, interleaved_matches_model_log2cap_4)
{
    against_model(4, 12345);
}

/* ------------------------------------------------------------------------ */
/* Multi-thread: every item obtained exactly once                           */
/* ------------------------------------------------------------------------ */

#define NTHIEVES 3

static void stress_setup(stress *s, size_t n, unsigned log2cap)
{
    cr_assert_eq(stress_init(s, n, log2cap), 0);
}

static void stress_check(stress *s, const char *what)
{
    size_t zero, many, first_bad;
    stress_count(s, &zero, &many, &first_bad);
    size_t stolen = atomic_load(&s->stolen);
    cr_log_info("%s: %zu items, %zu taken, %zu stolen, %zu retries", what, s->n, s->taken, stolen,
                atomic_load(&s->retries));
    cr_expect_eq(atomic_load(&s->bad), 0, "%s: %zu invalid items obtained", what, atomic_load(&s->bad));
    cr_expect_eq(s->wrong_take, 0, "%s: take returned another item %zu times", what, s->wrong_take);
    cr_expect_eq(zero, 0, "%s: %zu items lost (first bad index %zu)", what, zero, first_bad);
    cr_expect_eq(many, 0, "%s: %zu items obtained twice or more (first bad index %zu)", what, many,
                 first_bad);
    cr_expect_eq(s->taken + stolen, s->n, "%s: taken %zu + stolen %zu != %zu", what, s->taken, stolen,
                 s->n);
    cr_expect_eq(braid__deque_size(&s->d), 0);
    braid__deque_destroy(&s->d);
    free(s->count);
}

static void run_thieves(stress *s, pthread_t *t, int n)
{
    cr_assert_eq(start_thieves(s, t, n), 0);
}

static void stop_thieves(stress *s, pthread_t *t, int n)
{
    cr_assert_eq(join_thieves(s, t, n), 0);
}

/* Owner: bursts of pushes (so the ring grows while thieves read it) mixed
 * with bursts of takes, then drains. */
static void push_take_stress(size_t n, unsigned log2cap, int nthieves, uint64_t seed)
{
    stress *s = malloc(sizeof(*s));
    cr_assert_not_null(s);
    stress_setup(s, n, log2cap);
    pthread_t t[NTHIEVES];
    run_thieves(s, t, nthieves);
    uint64_t r = seed;
    size_t i = 0;
    while (i < n) {
        size_t burst = 1 + (size_t)(rng_next(&r) % 64);
        for (size_t k = 0; k < burst && i < n; k++, i++)
            cr_assert_geq(braid__deque_push(&s->d, ITEM(i)), 0);
        size_t takes = (size_t)(rng_next(&r) % 48);
        for (size_t k = 0; k < takes; k++)
            owner_take(s);
    }
    /* Drain: once take answers 0 the deque is empty for good (no more
     * pushes), so thieves may stop on their next EMPTY. */
    while (braid__deque_size(&s->d) > 0)
        owner_take(s);
    cr_assert_eq(braid__deque_take(&s->d), 0);
    stop_thieves(s, t, nthieves);
    char what[64];
    snprintf(what, sizeof(what), "push/take/steal log2cap %u, %d thieves", log2cap, nthieves);
    stress_check(s, what);
    free(s);
}

Test(deque_mt, exactly_once_log2cap_2, .timeout = 30.)
{
    push_take_stress(1000000, 2, 3, 1);
}

Test(deque_mt, exactly_once_log2cap_2_two_thieves, .timeout = 30.)
{
    push_take_stress(1000000, 2, 2, 2);
}

Test(deque_mt, exactly_once_log2cap_10, .timeout = 30.)
{
    push_take_stress(1000000, 10, 3, 3);
}

/* The owner pushes per_round items and takes them straight back, so the
 * deque is nearly always at its last one or two items and every take races
 * the thieves. With per_round >= 2 this also catches a missing store-load
 * fence in take (owner and thief both claiming item t + 1) under the C11
 * backend, most runs. */
static void last_item_race(size_t n, int per_round, int nthieves)
{
    stress *s = malloc(sizeof(*s));
    cr_assert_not_null(s);
    stress_setup(s, n, 1);
    pthread_t t[NTHIEVES];
    run_thieves(s, t, nthieves);
    uint64_t r = 0x5DEECE66DULL + (uint64_t)per_round;
    for (size_t i = 0; i < n; i += (size_t)per_round) {
        int k = 0;
        for (; k < per_round && i + (size_t)k < n; k++)
            cr_assert_geq(braid__deque_push(&s->d, ITEM(i + (size_t)k)), 0);
        /* Now and then widen the window so that thieves win some races. */
        for (unsigned spin = (unsigned)(rng_next(&r) % 16); spin > 8; spin--)
            braid__cpu_relax();
        while (k-- > 0) {
            uintptr_t x = braid__deque_take(&s->d);
            if (x == 0)
                continue; /* thieves emptied the deque: the rest of the round is theirs */
            /* Thieves take from the top, so the owner can only get the
             * newest item still in the deque: index i + k. */
            if (x != ITEM(i + (size_t)k))
                s->wrong_take++;
            record(s, x);
            s->taken++;
        }
        /* The deque is empty here whatever the outcome of the races. */
    }
    cr_assert_eq(braid__deque_take(&s->d), 0);
    stop_thieves(s, t, nthieves);
    char what[64];
    snprintf(what, sizeof(what), "last item, %d per round, %d thieves", per_round, nthieves);
    stress_check(s, what);
    free(s);
}

Test(deque_mt, last_item_race, .timeout = 30.)
{
    last_item_race(1000000, 1, 3);
}

Test(deque_mt, last_item_race_one_thief, .timeout = 30.)
{
    last_item_race(1000000, 1, 1);
}

Test(deque_mt, last_two_items_race, .timeout = 30.)
{
    last_item_race(1000000, 2, 2);
}

Test(deque_mt, last_two_items_race_three_thieves, .timeout = 30.)
{
    last_item_race(1000000, 2, 3);
}

Test(deque_mt, last_four_items_race, .timeout = 30.)
{
    last_item_race(1000000, 4, 3);
}
