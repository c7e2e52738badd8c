// deque_relacy.cpp - a Relacy model check of braid's Chase-Lev deque.
//
// What it is: a line-by-line C++ transcription of sched/deque.h and
// sched/deque.c (push, push_slow, grow, take, take_if, steal, steal_if) with
// every atomic of sched/atomics.h replaced by an rl::atomic of the SAME memory
// order, run by Relacy (a stateless model checker for the C++11 memory model)
// on small scenarios: 1 owner, 2 thieves, initial capacity 2 so the ring
// grows to 4 while thieves are stealing (see "The scenarios" below).
//
// What Relacy checks here:
//   - every item is obtained exactly once (no loss, no duplicate), and only
//     real items come out (never a stale slot, never 0/1 misread as an item);
//   - publication: each item stands for a task whose body is a PLAIN variable
//     (rl::var) written by the owner before the push and read by whoever
//     obtains the item; a missing release/acquire edge is a DATA RACE there;
//   - the ring's plain field (mask, read by thieves through ring_get) is race
//     checked too, and ring memory is tracked: a thief touching a freed ring
//     is ACCESS TO FREED MEMORY; rings not freed by destroy are a MEMORY LEAK.
// Slots stay relaxed atomics as in braid (a thief may read a slot the owner
// is overwriting, then lose the CAS: a benign race that needs atomics; as
// plain rl::var slots, Relacy reports that race in the correct algorithm).
//
// Usage: deque_relacy [-s SCENARIO] VARIANT SEARCH [ITERATIONS]
//   SCENARIO: grow (default) | last-take | last-take-if (see "The scenarios")
//   VARIANT: correct | take-relaxed | push-relaxed | free-old-ring
//            | take-if-relaxed | steal-ring-relaxed | grow-relaxed | steal-acquire
//   SEARCH:  cb2 (exhaustive, context bound 2; ITERATIONS ignored)
//            | random (ITERATIONS random executions, default 200000)
// Exit status: 0 the model holds, 1 Relacy reported a failure, 2 bad usage.
// The last two lines are machine-readable: COVERAGE name=count ... (how
// often each path was taken; see COVERAGE below) and a summary:
//   RESULT scenario=C variant=V search=S result=SUCCESS|<relacy failure> executions=N ms=T grew=G
//
// Keep this file in step with sched/deque.[ch]: the comment "deque.c:" or
// "deque.h:" above each function names the original.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include <relacy/relacy.hpp>

// ---------------------------------------------------------------------------
// Variants. A constant for the whole run (set once from argv), so Relacy's
// replay of a failing execution stays deterministic.

enum variant_e {
    V_CORRECT,
    V_TAKE_RELAXED,       // (a) take: bottom store + top load relaxed (no store-load order)
    V_PUSH_RELAXED,       // (b) push (inline fast path): bottom store relaxed, not release
    V_FREE_OLD_RING,      // (c) grow frees the old ring at once instead of keeping it
    V_TAKE_IF_RELAXED,    // extra: the same mistake as (a) in take_if only
    V_STEAL_RING_RELAXED, // extra: steal's load of the ring pointer relaxed, not acquire
    V_GROW_RELAXED,       // extra: grow publishes the new ring with a relaxed store
    V_STEAL_ACQUIRE,      // extra: steal's loads of top and bottom acquire, not seq_cst
    V_COUNT
};

static char const *const variant_names[V_COUNT] = {
    "correct", "take-relaxed", "push-relaxed", "free-old-ring",
    "take-if-relaxed", "steal-ring-relaxed", "grow-relaxed", "steal-acquire",
};

static variant_e g_variant = V_CORRECT;

// Statistics only (never read by the model, so replay stays deterministic):
// how many executions went down each interesting path. The runner requires
// every one of them to be reached by the exhaustive search of the correct
// model, so a scenario edit cannot silently stop exercising a path.
#define COVERAGE(X) \
    X(grow)               /* grow ran (ring 2 -> 4) */ \
    X(take_empty)         /* take: cheap exit or t > b restore */ \
    X(take_many)          /* take: t < b, no CAS */ \
    X(take_last_won)      /* take: t == b, CAS won */ \
    X(take_last_lost)     /* take: t == b, CAS lost to a thief */ \
    X(take_if_other)      /* take_if: empty or bottom is another item */ \
    X(take_if_restore)    /* take_if: t > b after lowering bottom */ \
    X(take_if_many)       /* take_if: t < b */ \
    X(take_if_last_won)   /* take_if: t == b, CAS won */ \
    X(take_if_last_lost)  /* take_if: t == b, CAS lost */ \
    X(steal_empty)        /* steal: t >= b */ \
    X(steal_retry)        /* steal: CAS lost */ \
    X(steal_won)          /* steal: got an item */ \
    X(steal_won_old_ring) /* steal: got an item through a ring grow replaced */ \
    X(steal_saw_garbage)  /* steal: read a never-written slot, then lost */ \
    X(steal_if_other)     /* steal_if: empty or top is another item */ \
    X(steal_if_lost)      /* steal_if: CAS lost */ \
    X(steal_if_won)       /* steal_if: got the item */
#define COV_ENUM(n) COV_##n,
#define COV_NAME(n) #n,
enum { COVERAGE(COV_ENUM) COV_COUNT };
static char const *const cov_names[COV_COUNT] = {COVERAGE(COV_NAME)};
static unsigned long g_cov[COV_COUNT];
#define COVER(n) (g_cov[COV_##n]++)

// ---------------------------------------------------------------------------
// atomics.h, C11 backend, mapped onto Relacy. Macros (not functions) so that
// Relacy's histories point at the line of deque code, not at this shim.

typedef rl::atomic<uintptr_t> braid__aword;

#define braid__load_relaxed(p) ((p)->load(rl::mo_relaxed, $))
#define braid__load_acquire(p) ((p)->load(rl::mo_acquire, $))
#define braid__load_seqcst(p) ((p)->load(rl::mo_seq_cst, $))
#define braid__store_relaxed(p, v) ((p)->store((v), rl::mo_relaxed, $))
#define braid__store_release(p, v) ((p)->store((v), rl::mo_release, $))
#define braid__store_seqcst(p, v) ((p)->store((v), rl::mo_seq_cst, $))
#define braid__cas_seqcst(p, e, d) ((p)->compare_exchange_strong(*(e), (d), rl::mo_seq_cst, $, rl::mo_seq_cst, $))

// Variant-controlled orderings (the correct one is the braid one).
#define MO(broken_in, good) (g_variant == (broken_in) ? rl::mo_relaxed : (good))

// ---------------------------------------------------------------------------
// deque.h: types.

struct braid__ring {
    VAR_T(size_t) mask;       // capacity - 1; plain field: race checked
    braid__ring *prev;        // owner only
    braid__aword *slot;       // C: flexible array member; here a separate array
};

// What fresh ring memory holds in the model: not an item (items are
// multiples of 4), not EMPTY (0) or RETRY (1).
static uintptr_t const RING_GARBAGE = 0xdead;

struct braid__deque {
    braid__aword top;
    braid__aword bottom;
    braid__aword ring;        // braid__ring *
};

// ---------------------------------------------------------------------------
// deque.c: ring_new, ring_get, ring_put, init, destroy, grow.

static braid__ring *ring_new(size_t cap, braid__ring *prev)
{
    // C: one malloc, slots left uninitialised. A thief can read a slot of a
    // new ring that grow never wrote (it loaded top before the copy range was
    // chosen) and then loses its CAS; see the README. So, by default, fresh
    // slots hold RING_GARBAGE (a value no item has, standing for malloc's
    // garbage; the stores are not scheduling points) and the scenario asserts
    // that it never comes out as an item. -DMODEL_STRICT_UNINIT leaves them
    // unwritten, and Relacy then reports that benign read as an
    // "ACCESS TO UNINITIALIZED VARIABLE".
    braid__ring *r = new braid__ring;
    r->slot = new braid__aword[cap];
#ifndef MODEL_STRICT_UNINIT
    {
        rl::preemption_disabler no_switch(rl::ctx());
        for (size_t i = 0; i < cap; i++)
            r->slot[i].store(RING_GARBAGE, rl::mo_relaxed, $);
    }
#endif
    VAR(r->mask) = cap - 1;
    r->prev = prev;
    return r;
}

static void ring_free(braid__ring *r)
{
    delete[] r->slot;
    delete r;
}

static inline uintptr_t ring_get(braid__ring *r, intptr_t i)
{
    /* Relaxed: ordered by the release store of bottom (push) that the reader
     * acquired, or program order for the owner. */
    return braid__load_relaxed(&r->slot[(size_t)i & VAR(r->mask)]);
}

static inline void ring_put(braid__ring *r, intptr_t i, uintptr_t v)
{
    /* Relaxed: published by the release store of bottom that follows. */
    braid__store_relaxed(&r->slot[(size_t)i & VAR(r->mask)], v);
}

static int braid__deque_init(braid__deque *d, unsigned log2cap)
{
    braid__ring *r = ring_new((size_t)1 << log2cap, NULL);
    braid__store_relaxed(&d->top, 0);
    braid__store_relaxed(&d->bottom, 0);
    braid__store_relaxed(&d->ring, (uintptr_t)r);
    return 0;
}

static void braid__deque_destroy(braid__deque *d)
{
    braid__ring *r = (braid__ring *)braid__load_relaxed(&d->ring);
    while (r != NULL) {
        braid__ring *prev = r->prev;
        ring_free(r);
        r = prev;
    }
    braid__store_relaxed(&d->ring, 0);
}

static braid__ring *grow(braid__deque *d, braid__ring *old, intptr_t t, intptr_t b)
{
    COVER(grow);
    // Variant (c) does not link the old ring (it frees it below instead).
    braid__ring *r = ring_new(2 * (VAR(old->mask) + 1), g_variant == V_FREE_OLD_RING ? old->prev : old);
    for (intptr_t i = t; i < b; i++)
        ring_put(r, i, ring_get(old, i));
    /* Release: a thief that loads the new ring (acquire in steal) sees the
     * copied slots. The old ring stays readable for late thieves. */
    (&d->ring)->store((uintptr_t)r, MO(V_GROW_RELAXED, rl::mo_release), $);
    if (g_variant == V_FREE_OLD_RING)
        ring_free(old); // BROKEN: a thief may still be reading it
    return r;
}

// ---------------------------------------------------------------------------
// deque.c: push_slow; deque.h: push.

static int braid__deque_push_slow(braid__deque *d, uintptr_t item)
{
    intptr_t b = (intptr_t)braid__load_relaxed(&d->bottom);
    /* Acquire: pairs with the thieves' CAS of top. */
    intptr_t t = (intptr_t)braid__load_acquire(&d->top);
    braid__ring *r = (braid__ring *)braid__load_relaxed(&d->ring);
    if (b - t > (intptr_t)VAR(r->mask))
        r = grow(d, r, t, b);
    braid__store_relaxed(&r->slot[(size_t)b & VAR(r->mask)], item);
    /* Release: publishes the slot to thieves that read bottom (steal). */
    braid__store_release(&d->bottom, (uintptr_t)(b + 1));
    return b <= t ? 1 : (int)(b - t + 1);
}

static int braid__deque_push(braid__deque *d, uintptr_t item)
{
    intptr_t b = (intptr_t)braid__load_relaxed(&d->bottom);
    /* Acquire: pairs with the thieves' CAS of top. */
    intptr_t t = (intptr_t)braid__load_acquire(&d->top);
    braid__ring *r = (braid__ring *)braid__load_relaxed(&d->ring);
    if (b - t > (intptr_t)VAR(r->mask))
        return braid__deque_push_slow(d, item);
    braid__store_relaxed(&r->slot[(size_t)b & VAR(r->mask)], item);
    /* Release: publishes the slot to thieves that read bottom (steal). */
    (&d->bottom)->store((uintptr_t)(b + 1), MO(V_PUSH_RELAXED, rl::mo_release), $);
    return b <= t ? 1 : (int)(b - t + 1);
}

// ---------------------------------------------------------------------------
// deque.h: take_if; deque.c: take.

static uintptr_t braid__deque_take_if(braid__deque *d, uintptr_t item)
{
    intptr_t b = (intptr_t)braid__load_relaxed(&d->bottom) - 1;
    braid__ring *r = (braid__ring *)braid__load_relaxed(&d->ring);
    if (b < (intptr_t)braid__load_relaxed(&d->top) ||
        braid__load_relaxed(&r->slot[(size_t)b & VAR(r->mask)]) != item)
        return COVER(take_if_other), 0;
    /* Seq_cst store then seq_cst load of top (as in take). */
    (&d->bottom)->store((uintptr_t)b, MO(V_TAKE_IF_RELAXED, rl::mo_seq_cst), $);
    intptr_t t = (intptr_t)(&d->top)->load(MO(V_TAKE_IF_RELAXED, rl::mo_seq_cst), $);
    if (t > b) {
        braid__store_relaxed(&d->bottom, (uintptr_t)(b + 1));
        return COVER(take_if_restore), 0;
    }
    if (t == b) {
        uintptr_t expect = (uintptr_t)t;
        if (!braid__cas_seqcst(&d->top, &expect, (uintptr_t)(t + 1)))
            item = 0;
        braid__store_relaxed(&d->bottom, (uintptr_t)(b + 1));
        item ? COVER(take_if_last_won) : COVER(take_if_last_lost);
    } else {
        COVER(take_if_many);
    }
    return item;
}

static uintptr_t braid__deque_take(braid__deque *d)
{
    intptr_t b = (intptr_t)braid__load_relaxed(&d->bottom) - 1;
    /* Cheap exit when empty (relaxed top: a stale value is smaller). */
    if (b < (intptr_t)braid__load_relaxed(&d->top))
        return COVER(take_empty), 0;
    braid__ring *r = (braid__ring *)braid__load_relaxed(&d->ring);
    /* Seq_cst store then seq_cst load of top: the store-load order
     * (variant (a): both relaxed). */
    (&d->bottom)->store((uintptr_t)b, MO(V_TAKE_RELAXED, rl::mo_seq_cst), $);
    intptr_t t = (intptr_t)(&d->top)->load(MO(V_TAKE_RELAXED, rl::mo_seq_cst), $);
    if (t > b) { /* empty: restore */
        braid__store_relaxed(&d->bottom, (uintptr_t)(b + 1));
        return COVER(take_empty), 0;
    }
    uintptr_t item = ring_get(r, b);
    if (t == b) {
        uintptr_t expect = (uintptr_t)t;
        if (!braid__cas_seqcst(&d->top, &expect, (uintptr_t)(t + 1)))
            item = 0;
        braid__store_relaxed(&d->bottom, (uintptr_t)(b + 1));
        item ? COVER(take_last_won) : COVER(take_last_lost);
    } else {
        COVER(take_many);
    }
    return item;
}

// ---------------------------------------------------------------------------
// deque.c: steal_if, steal.

#define BRAID__STEAL_EMPTY ((uintptr_t)0)
#define BRAID__STEAL_RETRY ((uintptr_t)1)

static uintptr_t braid__deque_steal_if(braid__deque *d, uintptr_t item)
{
    intptr_t t = (intptr_t)braid__load_seqcst(&d->top);
    intptr_t b = (intptr_t)braid__load_seqcst(&d->bottom);
    if (t >= b)
        return COVER(steal_if_other), 0;
    /* Acquire: pairs with the release store in grow. */
    braid__ring *r = (braid__ring *)braid__load_acquire(&d->ring);
    if (ring_get(r, t) != item)
        return COVER(steal_if_other), 0;
    uintptr_t expect = (uintptr_t)t;
    if (!braid__cas_seqcst(&d->top, &expect, (uintptr_t)(t + 1)))
        return COVER(steal_if_lost), 0;
    return COVER(steal_if_won), item;
}

static uintptr_t braid__deque_steal(braid__deque *d)
{
    /* Seq_cst loads of top then bottom: pair with take's seq_cst store. */
    rl::memory_order mo = g_variant == V_STEAL_ACQUIRE ? rl::mo_acquire : rl::mo_seq_cst;
    intptr_t t = (intptr_t)(&d->top)->load(mo, $);
    intptr_t b = (intptr_t)(&d->bottom)->load(mo, $);
    if (t >= b)
        return COVER(steal_empty), BRAID__STEAL_EMPTY;
    /* Acquire: pairs with the release store in grow. */
    braid__ring *r = (braid__ring *)(&d->ring)->load(MO(V_STEAL_RING_RELAXED, rl::mo_acquire), $);
    uintptr_t item = ring_get(r, t);
    uintptr_t expect = (uintptr_t)t;
    if (!braid__cas_seqcst(&d->top, &expect, (uintptr_t)(t + 1))) {
        if (item == RING_GARBAGE)
            COVER(steal_saw_garbage);
        return COVER(steal_retry), BRAID__STEAL_RETRY;
    }
    // Statistics: debug_value() peeks without a Relacy event.
    if ((uintptr_t)r != d->ring.debug_value())
        COVER(steal_won_old_ring);
    return COVER(steal_won), item;
}

// ---------------------------------------------------------------------------
// The scenarios. Capacity 2 (the smallest braid allows), items x0..x4.
//
// grow (the main one). Owner (thread 0):
//   push x0, push x1, push x2      the third push grows the ring 2 -> 4 unless
//   push x3                        thieves stole first (then x3's push may
//                                  grow, copying from a later top)
//   take                           LIFO end; races thieves when 1 is left
//   push x4
//   take_if x4                     the await path: succeeds unless a thief
//                                  won x4 as the last item
//   take_if x0                     normally "bottom is something else" -> 0
//   then take until empty          so every item ends up claimed
//
// last-take, last-take-if. x0 is pushed in before() (the deque starts with
// one item), and the owner's FIRST operation is take (resp. take_if x0).
// Reason: for the owner to LOSE the last-item CAS, a thief must read top and
// bottom before the owner lowers bottom, then CAS between the owner's load of
// top and its CAS. Later in the owner's script that costs 3 preemptions, more
// than context bound 2; with the thief starting first it costs 2. Then:
//   push x1, push x2, push x3      grows 2 -> 4 unless thieves stole first
//   take_if x3, then take until empty
//
// Thieves (threads 1, 2), all scenarios: steal, steal (thread 2's second
// attempt is steal_if x1). No retry loops: a RETRY or EMPTY answer ends that
// attempt. after(): each item obtained exactly once over all threads, deque
// empty, then destroy (all rings freed: Relacy reports any leak).

enum scenario_e { S_GROW, S_LAST_TAKE, S_LAST_TAKE_IF, S_COUNT };
static char const *const scenario_names[S_COUNT] = {"grow", "last-take", "last-take-if"};
static scenario_e g_scenario = S_GROW;

enum { NITEMS = 5, NTHREADS = 3, LOG2CAP = 1 };

static inline uintptr_t ITEM(int i) { return (uintptr_t)(i + 1) * 4; } // never 0 or 1
static inline int BODY(int i) { return 1000 + i; }

struct deque_test : rl::test_suite<deque_test, NTHREADS> {
    braid__deque d;
    VAR_T(int) body[NITEMS]; // the task behind each item: plain memory
    int got[NTHREADS][NITEMS];

    void before()
    {
        std::memset(got, 0, sizeof got);
        braid__deque_init(&d, LOG2CAP);
        if (g_scenario != S_GROW)
            push(0);
    }

    // Someone obtained `item` (non-zero): it must be a real item, and the
    // task body written before its push must be visible without a race.
    void obtained(unsigned th, uintptr_t item)
    {
        RL_ASSERT(item % 4 == 0 && item >= 4 && item <= (uintptr_t)NITEMS * 4);
        int i = (int)(item / 4) - 1;
        RL_ASSERT(VAR(body[i]) == BODY(i));
        got[th][i]++;
    }

    void push(int i)
    {
        VAR(body[i]) = BODY(i);
        int depth = braid__deque_push(&d, ITEM(i));
        RL_ASSERT(depth >= 1);
    }

    void owner()
    {
        uintptr_t x;
        if (g_scenario == S_LAST_TAKE) {
            if ((x = braid__deque_take(&d)) != 0)
                obtained(0, x);
        } else if (g_scenario == S_LAST_TAKE_IF) {
            if ((x = braid__deque_take_if(&d, ITEM(0))) != 0) {
                RL_ASSERT(x == ITEM(0));
                obtained(0, x);
            }
        }
        if (g_scenario != S_GROW) {
            push(1);
            push(2);
            push(3);
            if ((x = braid__deque_take_if(&d, ITEM(3))) != 0) {
                RL_ASSERT(x == ITEM(3));
                obtained(0, x);
            }
            while ((x = braid__deque_take(&d)) != 0)
                obtained(0, x);
            return;
        }
        push(0);
        push(1);
        push(2);
        push(3);
        if ((x = braid__deque_take(&d)) != 0)
            obtained(0, x);
        push(4);
        if ((x = braid__deque_take_if(&d, ITEM(4))) != 0) {
            RL_ASSERT(x == ITEM(4));
            obtained(0, x);
        }
        if ((x = braid__deque_take_if(&d, ITEM(0))) != 0) {
            RL_ASSERT(x == ITEM(0));
            obtained(0, x);
        }
        while ((x = braid__deque_take(&d)) != 0)
            obtained(0, x);
    }

    void thief(unsigned th)
    {
        uintptr_t x = braid__deque_steal(&d);
        if (x != BRAID__STEAL_EMPTY && x != BRAID__STEAL_RETRY)
            obtained(th, x);
        if (th == 2) {
            if ((x = braid__deque_steal_if(&d, ITEM(1))) != 0) {
                RL_ASSERT(x == ITEM(1));
                obtained(th, x);
            }
        } else {
            x = braid__deque_steal(&d);
            if (x != BRAID__STEAL_EMPTY && x != BRAID__STEAL_RETRY)
                obtained(th, x);
        }
    }

    void thread(unsigned th)
    {
        if (th == 0)
            owner();
        else
            thief(th);
    }

    void after()
    {
        int nitems = g_scenario == S_GROW ? NITEMS : 4;
        for (int i = 0; i < nitems; i++) {
            int n = 0;
            for (int th = 0; th < NTHREADS; th++)
                n += got[th][i];
            RL_ASSERT(n == 1); // 0: lost; 2+: duplicated
        }
        RL_ASSERT(braid__deque_take(&d) == 0);
        RL_ASSERT(braid__deque_steal(&d) == BRAID__STEAL_EMPTY);
        braid__deque_destroy(&d);
    }
};

// ---------------------------------------------------------------------------

static int usage(char const *argv0)
{
    std::fprintf(stderr, "usage: %s [-s SCENARIO] VARIANT cb2|random [ITERATIONS]\n  SCENARIO:", argv0);
    for (int i = 0; i < S_COUNT; i++)
        std::fprintf(stderr, " %s", scenario_names[i]);
    std::fprintf(stderr, "\n  VARIANT:");
    for (int i = 0; i < V_COUNT; i++)
        std::fprintf(stderr, " %s", variant_names[i]);
    std::fprintf(stderr, "\n");
    return 2;
}

int main(int argc, char **argv)
{
    char const *argv0 = argv[0];
    if (argc >= 3 && std::strcmp(argv[1], "-s") == 0) {
        int sc = 0;
        while (sc < S_COUNT && std::strcmp(argv[2], scenario_names[sc]) != 0)
            sc++;
        if (sc == S_COUNT)
            return usage(argv0);
        g_scenario = (scenario_e)sc;
        argc -= 2;
        argv += 2;
    }
    if (argc < 3 || argc > 4)
        return usage(argv0);
    int v = 0;
    while (v < V_COUNT && std::strcmp(argv[1], variant_names[v]) != 0)
        v++;
    if (v == V_COUNT)
        return usage(argv0);
    g_variant = (variant_e)v;

    rl::test_params params;
    std::ostringstream progress; // Relacy's progress lines: discarded
    params.progress_stream = &progress;
    bool exhaustive = std::strcmp(argv[2], "cb2") == 0;
    if (exhaustive) {
        params.search_type = rl::sched_bound;
        params.context_bound = 2;
    } else if (std::strcmp(argv[2], "random") == 0) {
        params.search_type = rl::sched_random;
        params.iteration_count = 200000;
        if (argc == 4)
            params.iteration_count = std::strtoul(argv[3], NULL, 10);
    } else {
        return usage(argv0);
    }

    auto t0 = std::chrono::steady_clock::now();
    bool ok = rl::simulate<deque_test>(params);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    std::string res = rl::test_result_str(params.test_result);
    for (char &c : res)
        if (c == ' ')
            c = '_';
    // Executions reaching each path (counted once per execution would need
    // per-execution state; these are event counts, good enough for "> 0").
    std::cout << "COVERAGE";
    for (int i = 0; i < COV_COUNT; i++)
        std::cout << " " << cov_names[i] << "=" << g_cov[i];
    std::cout << std::endl;
    std::cout << "RESULT scenario=" << scenario_names[g_scenario] << " variant=" << variant_names[v] << " search=" << argv[2] << " result=" << res
              << " executions=" << params.stop_iteration << " ms=" << ms << " grew=" << g_cov[COV_grow] << std::endl;
    return ok ? 0 : 1;
}
