/* worker.c - the per-worker loop: find a task, run it, park when idle.
 *
 * Owns: worker threads, the order in which a worker looks for work, the
 * injection queue, stealing, and the park/unpark protocol. Does not own task
 * state transitions (task.c) or the deque's internals (deque.c).
 *
 * Where a worker looks, each tick (libuv-style named phases):
 *   1. periodic checks on one tick counter (internal.h, TICK_CHECK): own
 *      timers every 8th tick, the yield queue first every 32nd, the
 *      injection queue first every 64th (so foreign spawns are not starved
 *      by a busy deque), the own reactor every 64th, out of step;
 *   2. the LIFO slot: the task this worker woke last (producer and consumer
 *      share a cache), at most LIFO_MAX runs in a row;
 *   3. its own deque (LIFO: depth-first for fork-join);
 *   4. the injection queue (taking a batch into its deque);
 *   5. its yield queue (FIFO: braid_yield resumes in yield order), but
 *      only after one steal attempt: yielding lets others run, including
 *      those queued on busy workers;
 *   6. steal: random victim first, up to half of its deque;
 *   7. park.
 *
 * Park/unpark protocol (no lost wake-up; after Tokio's idle.rs):
 *   1. A searching worker (stealing) is counted in rt->nsearching; at most
 *      half the workers search at once, the others park directly.
 *   2. Making work visible (a push onto an empty deque, an injection) is
 *      followed by notify: a seq_cst fence, then if nobody is searching and
 *      somebody is parked, one parked worker is popped from the idle list
 *      and its futex word set and woken.
 *   3. A worker parks by adding itself to the idle list and incrementing
 *      rt->nparked (seq_cst), then a seq_cst fence, then re-checking every
 *      deque and the injection queue. Steps 2 and 3 are the two halves of a
 *      Dekker pattern: either the pusher sees the parker counted, or the
 *      parker sees the pushed work. If the re-check finds work, the worker
 *      takes itself off the idle list and searches (even above the half).
 *   4. A searcher that finds work stops searching; if it was the last
 *      searcher it notifies another worker, which continues the search
 *      (work spreads without every push paying a wake-up).
 *   5. Parked workers sleep on their own futex word; an idle runtime makes
 *      no system calls and burns no CPU.
 *   6. Timers: before parking, a worker fires every expired timer of every
 *      worker (so a worker stuck in a long computation does not hold its
 *      sleepers hostage), then sleeps until the earliest deadline of all
 *      heaps, published in its park_until. Whoever arms a timer that became
 *      the earliest of its heap stores the heap's next deadline (seq_cst),
 *      fences, and unparks a worker unless one is parked until no later
 *      than the new deadline. The parker stores park_until, fences and
 *      re-reads the heaps, so one of the two sees the other.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "futex.h"
#include "internal.h"

#define LIFO_MAX 3
#define STEAL_MAX 32
#define STACK_KEEP_DIRTY 256 /* resident spare stacks kept through idleness */
#define TRIM_IDLE_NS (50 * 1000 * 1000) /* trim only before sleeping this long */
#define TRIM_DECAY_NS (1000 * 1000 * 1000) /* ... and after a second of such idleness */
#define INJECT_BATCH 16
#define IO_WATCH_NS (2 * 1000 * 1000) /* an idle worker polls a busy one's fds this often */

__thread braid__worker *braid__tls_w __attribute__((tls_model("initial-exec")));
#define tls_w braid__tls_w

/* Where internal.h has no inline form: not inlined, and opaque to the
 * optimiser: a coroutine that migrated to another thread must re-read its
 * worker, never reuse a cached TLS address. */
#if !BRAID__WORKER_CURRENT_INLINE
__attribute__((noinline)) braid__worker *braid__worker_current(void)
{
    braid__worker *w = tls_w;
    __asm__ __volatile__("" : "+r"(w));
    return w;
}
#endif

static inline void stat_inc(braid__aword *c)
{
    /* Only the owning worker writes; readers load it relaxed. */
    braid__inc_owned(c);
}

/* ---- notify / park --------------------------------------------------- */

/* Wake v, whose park_word was just set to 1: on its futex word, or in its
 * epoll instance. Seq_cst fence between our store of park_word and our
 * load of park_epoll, paired with the parker's fence between its store of
 * park_epoll and its load of park_word: either it sees the word, or we see
 * that it sleeps in epoll and interrupt it. */
static void wake_parked(braid__worker *v)
{
    braid__futex_wake(&v->park_word, 1);
    braid__fence_seqcst();
    if (braid__load32_acquire(&v->park_epoll) != 0)
        braid__reactor_interrupt(&v->io);
}

static void unpark_one(braid_rt *rt)
{
    pthread_mutex_lock(&rt->idle_lock);
    if (rt->nidle == 0) {
        pthread_mutex_unlock(&rt->idle_lock);
        return;
    }
    unsigned id = rt->idle_ids[--rt->nidle];
    /* Seq_cst: part of the parked count that notify reads after its fence. */
    braid__fetch_add_seqcst(&rt->nparked, (uintptr_t)-1);
    braid__worker *v = rt->workers[id];
    /* Release: the woken worker's acquire load sees what we published
     * before notifying. Stored under idle_lock: a worker resets its word
     * under the same lock when it parks again, so a late store from this
     * unpark can never land after that reset and fake a wake-up for a
     * worker that is still on the idle list (it would then park twice and
     * overflow the list). */
    braid__store32_release(&v->park_word, 1);
    pthread_mutex_unlock(&rt->idle_lock);
    wake_parked(v);
}

void braid__notify(braid_rt *rt)
{
    /* Seq_cst fence: orders the store that made work visible before the
     * loads of the counters (pairs with the fence in park, step 3). */
    braid__fence_seqcst();
    /* Relaxed loads after the fence: the fence gives the ordering. */
    if (braid__load_relaxed(&rt->nsearching) != 0)
        return;
    if (braid__load_relaxed(&rt->nparked) == 0)
        return;
    unpark_one(rt);
}

static bool work_visible(braid_rt *rt)
{
    /* Relaxed loads after the caller's seq_cst fence (park, step 3). */
    if (braid__load_relaxed(&rt->inj_len) != 0)
        return true;
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (braid__deque_size(&rt->workers[i]->dq) > 0)
            return true;
    return false;
}

static void stop_searching(braid__worker *w)
{
    if (!w->searching)
        return;
    w->searching = false;
    /* Seq_cst: the searching count is read by notify after its fence. */
    if (braid__fetch_add_seqcst(&w->rt->nsearching, (uintptr_t)-1) == 1)
        braid__notify(w->rt); /* we were the last searcher: hand the search on */
}

/* ---- timers --------------------------------------------------------- */

static void push_entry(braid__worker *w, uintptr_t e);
static bool wake_transition(braid_task *t);

/* Fire h's expired timers (wake their tasks onto w), at most FIRE_MAX per
 * call: more stay in the heap for the next check. With wait_lock false a
 * busy heap is skipped. Returns how many fired.
 *
 * Order: the woken tasks are pushed onto our LIFO deque only once every
 * batch is popped, latest deadline first, so that our own takes run them
 * earliest deadline (then arming) first even when many expire at once
 * (pushed batch by batch, 100,000 sleepers due together ran one batch of 64
 * after another in reverse, and the earliest one last: tens of ms late).
 * Thieves steal from the other end: the latest deadlines. */
#define FIRE_MAX 1024
static unsigned fire_heap(braid__worker *w, braid__timer_heap *h, int64_t now, bool wait_lock)
{
    if (braid__timer_next(h) > now)
        return 0;
    if (wait_lock)
        pthread_mutex_lock(&h->lock);
    else if (pthread_mutex_trylock(&h->lock) != 0)
        return 0;
    unsigned n = 0, k = 0;
    enum { BATCH = 64 };
    braid__timer *fired[BATCH];
    /* 8 KiB: fire_heap runs only in the worker loop, on the thread stack. */
    braid_task *task[BATCH], *ready[FIRE_MAX];
    for (;;) {
        /* The state change happens under the lock, and the node is marked
         * fired only after it: a sleeper woken by a cancel instead must take
         * this lock to disarm its timer (it sees "not fired" until we are
         * done), so it cannot leave, or end, while we touch node or task.
         * A woken task cannot run before we enqueue it, so enqueuing
         * may wait for the unlock. Nodes and tasks are all cold (one of
         * each per sleeper): prefetch the whole batch first. */
        unsigned want = FIRE_MAX - n < BATCH ? FIRE_MAX - n : BATCH;
        unsigned got = braid__timer_pop_expired(h, now, fired, want);
        for (unsigned i = 0; i < got; i++) {
            task[i] = fired[i]->data;
            __builtin_prefetch(task[i], 1);
        }
        for (unsigned i = 0; i < got; i++) {
            if (wake_transition(task[i]))
                ready[k++] = task[i];
            braid__timer_fired(fired[i]);
        }
        n += got;
        pthread_mutex_unlock(&h->lock);
        if (got < want || n == FIRE_MAX)
            break;
        pthread_mutex_lock(&h->lock);
    }
    while (k > 0)
        push_entry(w, (uintptr_t)ready[--k] | ENTRY_RESUME);
    if (n != 0) {
        braid__store_relaxed(&w->n_timers_fired, braid__load_relaxed(&w->n_timers_fired) + n);
        braid__trace(w, TEV_TIMERS, n, 0);
    }
    return n;
}

/* Fire the expired timers of every worker, ours first. */
static unsigned fire_all(braid__worker *w, int64_t now)
{
    braid_rt *rt = w->rt;
    unsigned n = fire_heap(w, &w->timers, now, true);
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (i != w->id)
            n += fire_heap(w, &rt->workers[i]->timers, now, false);
    return n;
}

/* Poll every worker's reactor that has fds registered, without waiting. */
static unsigned poll_all(braid__worker *w)
{
    braid_rt *rt = w->rt;
    unsigned n = 0;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        braid__worker *v = rt->workers[i];
        if (braid__load_relaxed(&v->io.armed) != 0) /* relaxed: a hint */
            n += braid__reactor_poll(w, &v->io, 0, NULL);
    }
    return n;
}

static int64_t earliest_deadline(braid_rt *rt)
{
    int64_t m = INT64_MAX;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        int64_t d = braid__timer_next(&rt->workers[i]->timers);
        if (d < m)
            m = d;
    }
    return m;
}

void braid__timer_armed(braid_rt *rt, int64_t deadline)
{
    /* Step 6: our seq_cst store of the heap's next deadline, this fence,
     * then the parkers' park_until (pairs with the fence in park). */
    braid__fence_seqcst();
    if (braid__load_relaxed(&rt->nparked) == 0)
        return; /* every worker is awake and checks the heaps before parking */
    for (unsigned i = 0; i < rt->nworkers; i++) {
        int64_t until = (int64_t)braid__load_relaxed(&rt->workers[i]->park_until);
        if (until != 0 && until <= deadline)
            return; /* it wakes in time and fires ours too */
    }
    unpark_one(rt);
}

/* Take ourselves off the idle list, if an unparker has not already. */
static void unidle(braid__worker *w)
{
    braid_rt *rt = w->rt;
    pthread_mutex_lock(&rt->idle_lock);
    for (unsigned i = 0; i < rt->nidle; i++) {
        if (rt->idle_ids[i] == w->id) {
            rt->idle_ids[i] = rt->idle_ids[--rt->nidle];
            /* Seq_cst: the count notify reads after its fence. */
            braid__fetch_add_seqcst(&rt->nparked, (uintptr_t)-1);
            break;
        }
    }
    /* If we were not on the list, an unparker popped us: its wake-up will
     * find us awake, which is harmless. */
    pthread_mutex_unlock(&rt->idle_lock);
}

/* Returns true if the worker should look for work again at once (the
 * re-check found some, or timers fired), false after a real sleep. */
static bool park(braid__worker *w)
{
    braid_rt *rt = w->rt;
    if (w->searching) {
        w->searching = false;
        /* Seq_cst: ordered before our re-check of the queues (step 3). */
        braid__fetch_add_seqcst(&rt->nsearching, (uintptr_t)-1);
    }
    pthread_mutex_lock(&rt->idle_lock);
    assert(rt->nidle < rt->nworkers); /* each worker is on the list at most once */
    rt->idle_ids[rt->nidle++] = w->id;
    /* Relaxed: reset under the lock; an unparker sets it to 1 only after
     * popping us from the list, which it does under the same lock. */
    braid__store32_release(&w->park_word, 0);
    braid__fetch_add_seqcst(&rt->nparked, 1);
    pthread_mutex_unlock(&rt->idle_lock);
    braid__fence_seqcst(); /* step 3: pairs with the fence in notify */
    if (work_visible(rt) || braid__load_relaxed(&rt->stop)) {
        unidle(w);
        return true;
    }
    /* Step 6: publish how long we sleep, then look at the heaps again. */
    int64_t until = earliest_deadline(rt);
    for (;;) {
        /* Seq_cst store + fence: pairs with braid__timer_armed. */
        braid__store_seqcst(&w->park_until, (uintptr_t)until);
        braid__fence_seqcst();
        int64_t again = earliest_deadline(rt);
        if (again >= until)
            break;
        until = again;
    }
    if (until <= braid__clock_ns()) {
        braid__store_relaxed(&w->park_until, 0);
        unidle(w);
        return true; /* a timer is due: the loop fires it */
    }
    stat_inc(&w->n_parks);
    /* Give back the pages of stacks a burst left behind, but only after a
     * second of long sleeps with no work in between (a decay delay, as
     * jemalloc's dirty_decay_ms or Go's scavenger): a runtime that goes
     * idle between bursts keeps them resident and the next burst does not
     * fault them back; madvise also costs TLB shootdowns on the other
     * cores. Between close timers it never trims. */
    int64_t now = braid__clock_ns(), wake = until;
    if (until == INT64_MAX || until - now > TRIM_IDLE_NS) {
        if (w->trim_at == 0)
            w->trim_at = now + TRIM_DECAY_NS;
        if (now >= w->trim_at)
            braid__stack_trim(&rt->stacks, STACK_KEEP_DIRTY);
        else if (w->trim_at < wake && braid__stack_excess(&rt->stacks, STACK_KEEP_DIRTY))
            wake = w->trim_at; /* wake earlier to trim; never later than a timer */
    }
    /* I/O: a worker with fds registered sleeps in its epoll instance, so
     * their readiness wakes it. Another worker's fds are polled by their
     * owner while it runs tasks; if that owner is busy (it may run one
     * long computation) we wake every IO_WATCH_NS to poll them for it, as
     * Go's sysmon does for its netpoller. */
    bool in_epoll = braid__load_relaxed(&w->io.armed) != 0; /* relaxed: a hint */
    for (unsigned i = 0; i < rt->nworkers; i++) {
        braid__worker *v = rt->workers[i];
        /* Relaxed: a hint; a miss only delays I/O to the owner's next poll. */
        if (v != w && braid__load_relaxed(&v->io.armed) != 0 &&
            braid__load_relaxed(&v->park_until) == 0 && wake - now > IO_WATCH_NS) {
            wake = now + IO_WATCH_NS;
            break;
        }
    }
    if (in_epoll) {
        /* Release store, then the seq_cst fence below that orders it
         * before our load of park_word (the Dekker pair of wake_parked). */
        braid__store32_release(&w->park_epoll, 1);
        braid__fence_seqcst(); /* see wake_parked */
    }
    braid__trace(w, TEV_PARK, 0, 0);
    bool io_work = false;
    /* Acquire: pairs with the release store in unpark_one. Relaxed stop:
     * stop_all also sets park_word, which is what we wait on. */
    while (braid__load32_acquire(&w->park_word) == 0 && !braid__load_relaxed(&rt->stop)) {
        if (in_epoll) {
            int64_t left = wake == INT64_MAX ? INT64_MAX : wake - braid__clock_ns();
            if (braid__reactor_poll(w, &w->io, left, NULL) != 0) {
                io_work = true; /* woke tasks: run them */
                break;
            }
        } else {
            braid__futex_wait_until(&w->park_word, 0, wake);
        }
        if (wake != INT64_MAX && braid__clock_ns() >= wake)
            break;
    }
    if (in_epoll) /* release: awake; a late unparker's extra interrupt is harmless */
        braid__store32_release(&w->park_epoll, 0);
    braid__trace(w, TEV_UNPARK, 0, 0);
    /* Relaxed: we are awake; armers treat 0 as "not parked". */
    braid__store_relaxed(&w->park_until, 0);
    if (braid__load32_acquire(&w->park_word) == 0) { /* timed out, or I/O */
        unidle(w);
        if (io_work) {
            w->trim_at = 0;
            stat_inc(&w->n_wakeups);
        }
        return true;
    }
    w->trim_at = 0; /* woken for work: the idle period is over */
    stat_inc(&w->n_wakeups);
    return false;
}

/* ---- queues ---------------------------------------------------------- */

static void push_entry(braid__worker *w, uintptr_t e)
{
    /* Only an empty -> non-empty change needs a wake-up: a non-empty deque
     * is either being searched or was announced when it became non-empty. */
    int depth = braid__deque_push(&w->dq, e);
    if (__builtin_expect(depth < 0, 0)) {
        /* Out of memory growing the deque: the injection queue takes it. */
        braid__inject(w->rt, e);
        return;
    }
    if (depth == 1)
        braid__notify(w->rt);
    else if (__builtin_expect((unsigned)depth > w->max_depth, 0))
        braid__stat_max_depth(w, (unsigned)depth);
}

void braid__wake_ready(braid__worker *w, braid_task *t)
{
    if (w == NULL || w->rt != t->rt) {
        braid__inject(t->rt, (uintptr_t)t | ENTRY_RESUME);
        return;
    }
    if (w->lifo != 0)
        push_entry(w, w->lifo); /* the previous one becomes stealable */
    w->lifo = (uintptr_t)t | ENTRY_RESUME;
}

/* The state half of a wake-up: true if t went SUSPENDED -> RUNNING, and
 * the caller must now enqueue its resume entry (it alone may). The task is
 * RUNNING from here on, though it runs only once that entry is picked: a
 * second wake meanwhile sets NOTIFIED, one stray wake-up at its next wait,
 * and its resumer needs no atomic step. */
static bool wake_transition(braid_task *t)
{
    /* Relaxed: a first guess for the CAS loop below. */
    uintptr_t st = braid__load_relaxed(&t->state), s;
    for (;;) {
        uintptr_t nw;
        s = st & ST_MASK;
        if (s == ST_SUSPENDED)
            nw = (st & ~ST_MASK) | ST_RUNNING;
        else if (s == ST_RUNNING && !(st & F_NOTIFIED))
            nw = st | F_NOTIFIED; /* it is switching out: re-queue it */
        else
            return false; /* notified, DONE: nothing to do */
        /* Acq_rel CAS: a SUSPENDED -> RUNNING win makes us the only one to
         * enqueue it; acquire pairs with the suspend CAS so its saved
         * context is visible to us, and through the queue's release/acquire
         * (deque, injection lock) to whoever resumes it. */
        if (braid__cas(&t->state, &st, nw))
            return s == ST_SUSPENDED;
    }
}

void braid__wake(braid__worker *w, braid_task *t)
{
    if (wake_transition(t))
        braid__wake_ready(w, t);
}

int braid__inject(braid_rt *rt, uintptr_t e)
{
    pthread_mutex_lock(&rt->inj_lock);
    if (rt->inj_count == rt->inj_cap) {
        size_t ncap = rt->inj_cap * 2;
        uintptr_t *r = braid__malloc(ncap * sizeof(*r));
        if (r == NULL) {
            pthread_mutex_unlock(&rt->inj_lock);
            return -ENOMEM;
        }
        for (size_t i = 0; i < rt->inj_count; i++)
            r[i] = rt->inj_ring[(rt->inj_head + i) % rt->inj_cap];
        braid__free(rt->inj_ring);
        rt->inj_ring = r;
        rt->inj_cap = ncap;
        rt->inj_head = 0;
    }
    rt->inj_ring[(rt->inj_head + rt->inj_count) % rt->inj_cap] = e;
    rt->inj_count++;
    /* Relaxed: a hint for lock-free peeks; notify's fence orders it. */
    braid__store_relaxed(&rt->inj_len, rt->inj_count);
    pthread_mutex_unlock(&rt->inj_lock);
    braid__notify(rt);
    return 0;
}

static uintptr_t inject_pop(braid__worker *w)
{
    braid_rt *rt = w->rt;
    /* Relaxed peek: a miss is caught by the next tick or the park re-check. */
    if (braid__load_relaxed(&rt->inj_len) == 0)
        return 0;
    uintptr_t first = 0;
    uintptr_t batch[INJECT_BATCH];
    size_t n = 0;
    pthread_mutex_lock(&rt->inj_lock);
    if (rt->inj_count > 0) {
        first = rt->inj_ring[rt->inj_head];
        rt->inj_head = (rt->inj_head + 1) % rt->inj_cap;
        rt->inj_count--;
        /* Take a fair share more into our deque, where others can steal. */
        size_t share = rt->inj_count / rt->nworkers;
        while (n < share && n < INJECT_BATCH) {
            batch[n++] = rt->inj_ring[rt->inj_head];
            rt->inj_head = (rt->inj_head + 1) % rt->inj_cap;
            rt->inj_count--;
        }
        braid__store_relaxed(&rt->inj_len, rt->inj_count);
    }
    pthread_mutex_unlock(&rt->inj_lock);
    for (size_t i = 0; i < n; i++)
        push_entry(w, batch[i]);
    return first;
}

static inline uint64_t rng_next(braid__worker *w)
{
    /* xorshift64*: victim choice only. */
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uintptr_t steal_work(braid__worker *w, bool force)
{
    braid_rt *rt = w->rt;
    unsigned n = rt->nworkers;
    if (!w->searching) {
        /* Relaxed: the half rule is a throttle, not a correctness rule. */
        if (!force && 2 * braid__load_relaxed(&rt->nsearching) >= n)
            return 0;
        w->searching = true;
        /* Seq_cst: pushers read it after their fence (notify). */
        braid__fetch_add_seqcst(&rt->nsearching, 1);
    }
    unsigned start = (unsigned)(rng_next(w) % n);
    for (unsigned i = 0; i < n; i++) {
        unsigned vi = (start + i) % n;
        if (vi == w->id)
            continue;
        braid__deque *vd = &rt->workers[vi]->dq;
        intptr_t size = braid__deque_size(vd);
        if (size <= 0)
            continue;
        stat_inc(&w->n_steal_tries);
        intptr_t want = (size + 1) / 2;
        if (want > STEAL_MAX)
            want = STEAL_MAX;
        uintptr_t first = 0;
        int retries = 0;
        intptr_t got = 0;
        /* One CAS per item: Chase-Lev's owner takes without a CAS, so a
         * batched claim of several slots would race with it. */
        while (got < want) {
            uintptr_t e = braid__deque_steal(vd);
            if (e == BRAID__STEAL_EMPTY)
                break;
            if (e == BRAID__STEAL_RETRY) {
                if (++retries > 8)
                    break;
                continue;
            }
            got++;
            if (first == 0)
                first = e;
            else
                push_entry(w, e);
        }
        if (first != 0) {
            braid__trace(w, TEV_STEAL, (uint64_t)got, vi);
            braid__store_relaxed(&w->n_stolen, braid__load_relaxed(&w->n_stolen) + (uintptr_t)got);
            /* Relaxed RMW on the victim's counter: a statistic; the steal
             * already paid for the victim's lines. */
            braid__fetch_add_relaxed(&rt->workers[vi]->n_stolen_out, (uintptr_t)got);
            return first;
        }
    }
    return inject_pop(w);
}

static uintptr_t steal_work(braid__worker *w, bool force);

static uintptr_t next_entry(braid__worker *w)
{
    uintptr_t e;
    /* Own timers: a clock read (about 28 ns here) only while some are
     * armed, every 8 ticks, and whenever the local queues run dry (below):
     * expiry is late by at most a few task runs. */
    unsigned k = ++w->tick;
    if (__builtin_expect(k % TICK_CHECK == 0, 0)) {
        if (TICK_TIMER(k) && braid__timer_next(&w->timers) != INT64_MAX)
            fire_heap(w, &w->timers, braid__clock_ns(), true);
        /* Relaxed: a hint. */
        if (TICK_IO(k) && braid__load_relaxed(&w->io.armed) != 0)
            braid__reactor_poll(w, &w->io, 0, NULL);
        if (TICK_INJECT(k) && (e = inject_pop(w)) != 0)
            return e;
        if (TICK_YIELD(k) && w->yq_head != NULL)
            goto yielded;
    }
    if (w->lifo != 0) {
        e = w->lifo;
        w->lifo = 0;
        if (w->lifo_runs < LIFO_MAX) {
            w->lifo_runs++;
            return e;
        }
        push_entry(w, e); /* give the deque a turn */
    }
    w->lifo_runs = 0;
    if ((e = braid__deque_take(&w->dq)) != 0)
        return e;
    if (braid__timer_next(&w->timers) != INT64_MAX &&
        fire_heap(w, &w->timers, braid__clock_ns(), true) != 0 &&
        (e = braid__deque_take(&w->dq)) != 0)
        return e;
    if ((e = inject_pop(w)) != 0)
        return e;
    if (w->yq_head != NULL) {
        /* A yielder lets others run, including those queued on busy
         * workers: a worker left with only yielded tasks (say, one that
         * polls a flag) must not stop helping them. */
        if (w->rt->nworkers > 1 && (e = steal_work(w, false)) != 0)
            return e;
        goto yielded;
    }
    return 0;
yielded:
    e = (uintptr_t)w->yq_head | ENTRY_YIELDED;
    w->yq_head = w->yq_head->qnext;
    if (w->yq_head == NULL)
        w->yq_tail = NULL;
    return e;
}

/* ---- running tasks --------------------------------------------------- */

static void task_entry(void *arg)
{
    braid__switch_arrived();
    braid_task *t = arg;
    int64_t r = t->fn(t->arg);
    t->ret = r;
    braid__worker *w = braid__worker_current();
    w->action = ACT_DONE;
    w->action_task = t;
    braid__switch(&t->ctx, &w->sched_ctx, &w->sched_fiber, true);
    abort(); /* a finished coroutine is never resumed */
}

static void finish_wait(braid__worker *w, braid_task *t);

/* Would the next tick's periodic checks (TICK_CHECK) find nothing to do?
 * Then a switch may skip the loop. Relaxed reads: hints, as in the loop. */
static inline bool ticks_quiet(braid__worker *w)
{
    unsigned k = w->tick + 1;
    if (__builtin_expect(k % TICK_CHECK != 0, 1))
        return true;
    if (TICK_TIMER(k) && braid__timer_next(&w->timers) != INT64_MAX)
        return false;
    if (TICK_INJECT(k) && braid__load_relaxed(&w->rt->inj_len) != 0)
        return false;
    if (TICK_IO(k) && braid__load_relaxed(&w->io.armed) != 0)
        return false;
    if (TICK_YIELD(k) && w->yq_head != NULL)
        return false;
    return true;
}

/* May a waiting task switch straight to the LIFO slot's task? Only if the
 * loop would pick that task next: no periodic check is due that has
 * something to do, and the LIFO cap (which keeps a ping-pong pair from
 * starving the deque and the yield queue) is either not reached or guards
 * nothing, both being empty. Relaxed reads of our own deque: a stale top
 * is smaller than the real one, so "empty" is never a false answer; and of
 * the injection count: a hint, a miss is caught at the next check. */
static inline bool handoff_ok(braid__worker *w)
{
    if (w->lifo == 0)
        return false;
    bool local_empty =
        w->yq_head == NULL &&
        (intptr_t)braid__load_relaxed(&w->dq.bottom) <= (intptr_t)braid__load_relaxed(&w->dq.top);
    if (w->lifo_runs >= LIFO_MAX && !local_empty)
        return false;
    return ticks_quiet(w);
}

void braid__suspend(braid__worker *w, braid_task *self, int action)
{
    /* Hand-off: a task that waits right after waking another (ping-pong,
     * producer/consumer) switches straight to the task in the LIFO slot,
     * which the loop would pick next anyway, when no periodic check is due.
     * The task we switch to finishes our suspension (finish_wait) as its
     * first step, once our context is saved. */
    if (action == ACT_WAIT && handoff_ok(w)) {
        braid_task *next = ENTRY_TASK(w->lifo);
        w->lifo = 0;
        w->lifo_runs++;
        w->tick++; /* a due check that handoff_ok found nothing for is done */
        w->action = ACT_WAIT;
        w->action_task = self;
        w->cur = next;
        braid__trace(w, TEV_END, (uintptr_t)self, 0);
        braid__trace(w, TEV_BEGIN, (uintptr_t)next, 0);
        stat_inc(&w->n_switches);
        braid__switch(&self->ctx, &next->ctx, next->fiber, false);
    } else {
        w->action = action;
        w->action_task = self;
        braid__switch(&self->ctx, &w->sched_ctx, &w->sched_fiber, false);
    }
    /* Resumed, maybe on another worker. If another task handed off to us,
     * its suspension is ours to finish. */
    w = braid__worker_current();
    if (w->action == ACT_WAIT) {
        braid_task *prev = w->action_task;
        w->action = ACT_NONE;
        finish_wait(w, prev);
    }
}

bool braid__yield_fast(braid__worker *w, braid_task *self)
{
    /* The loop would pick, in order: the LIFO slot, the deque, the yield
     * queue, the injection queue. When the first two are empty, nothing is
     * injected and no periodic check is due, its pick is known: the head of
     * the yield queue (or self again). Switch there directly, one switch
     * instead of two. Relaxed reads of our own deque: a stale top is
     * smaller than the real one, so "empty" is never a false answer. */
    if (w->lifo != 0 || !ticks_quiet(w))
        return false;
    if ((intptr_t)braid__load_relaxed(&w->dq.bottom) > (intptr_t)braid__load_relaxed(&w->dq.top))
        return false;
    /* Relaxed: a hint; a miss is caught at the next periodic check. */
    if (braid__load_relaxed(&w->rt->inj_len) != 0)
        return false;
    w->tick++;
    braid_task *next = w->yq_head;
    if (next == NULL)
        return true; /* nothing else can run here: carry on at once */
    w->yq_head = next->qnext;
    self->qnext = NULL;
    if (w->yq_head == NULL)
        w->yq_head = self;
    else
        w->yq_tail->qnext = self;
    w->yq_tail = self;
    w->cur = next;
    braid__trace(w, TEV_END, (uintptr_t)self, 0);
    braid__trace(w, TEV_BEGIN, (uintptr_t)next, 0);
    stat_inc(&w->n_switches);
    braid__switch(&self->ctx, &next->ctx, next->fiber, false);
    return true;
}

static void after_switch(braid__worker *w)
{
    braid_task *t = w->action_task;
    int act = w->action;
    w->action = ACT_NONE;
    w->cur = NULL;
    if (act == ACT_DONE) {
        /* The stack is free the moment we left it: return it before the
         * completion makes the task's end visible. */
        braid__stack_put(&w->stacks, t->stack);
        braid__store_relaxed(&w->n_stacks_live, braid__load_relaxed(&w->n_stacks_live) - 1);
        t->stack = NULL;
        braid__task_complete(w, t); /* may free t */
        return;
    }
    if (act == ACT_YIELD) {
        /* Stays RUNNING: only this worker can resume it (internal.h). */
        t->qnext = NULL;
        if (w->yq_tail != NULL)
            w->yq_tail->qnext = t;
        else
            w->yq_head = t;
        w->yq_tail = t;
        return;
    }
    finish_wait(w, t);
}

/* The second half of a wait, run after t's context is saved (by the loop,
 * or by the task t handed off to). */
static void finish_wait(braid__worker *w, braid_task *t)
{
    uintptr_t st = braid__load_relaxed(&t->state); /* relaxed: CAS loop below */
    /* ACT_WAIT. Release (acq_rel CAS): the saved context is published to
     * the waker that moves it SUSPENDED -> RUNNING (pairs with its CAS). */
    for (;;) {
        bool notified = (st & F_NOTIFIED) != 0;
        uintptr_t nw = notified ? st & ~F_NOTIFIED /* stays RUNNING: re-queued */
                                : (st & ~ST_MASK) | ST_SUSPENDED;
        if (braid__cas(&t->state, &st, nw)) {
            if (notified) /* woken while switching out: run it again soon */
                braid__wake_ready(w, t);
            return;
        }
    }
}

static void run_entry(braid__worker *w, uintptr_t e)
{
    braid_task *t = ENTRY_TASK(e);
    if (e & ENTRY_YIELDED) {
        /* still RUNNING, owned by this worker's yield queue */
    } else if (e & ENTRY_RESUME) {
        /* We own the resume entry; the waker already made t RUNNING. */
    } else {
        if (!braid__task_claim(t, true)) {
            braid__task_drop(w, t, 1); /* an awaiter ran it: drop the entry's ref */
            return;
        }
        stat_inc(&w->n_started);
        if (braid__load_relaxed(&t->state) & F_CANCEL) { /* cancelled before it started */
            t->ret = -ECANCELED;
            braid__task_complete(w, t);
            return;
        }
        braid__stack *s = braid__stack_get(&w->stacks);
        if (s == NULL) {
            t->ret = -ENOMEM;
            braid__task_complete(w, t);
            return;
        }
        braid__inc_owned(&w->n_stacks_live); /* only w writes it */
        t->stack = s;
        t->fiber = &s->fiber;
        braid__set_parent(t, NULL);
        t->escaped = false;
        braid__ctx_make(&t->ctx, s->fiber.lo, s->fiber.size, task_entry, t);
    }
    w->cur = t;
    braid__trace(w, TEV_BEGIN, (uintptr_t)t, 0);
    stat_inc(&w->n_switches);
    braid__switch(&w->sched_ctx, &t->ctx, t->fiber, false);
    braid__trace(w, TEV_END, (uintptr_t)w->action_task, 0);
    after_switch(w);
}

/* ---- stack overflow diagnostics --------------------------------------- */

static struct sigaction old_segv;
static pthread_once_t segv_once = PTHREAD_ONCE_INIT;
#define ALTSTACK_SIZE (64 * 1024)

static void segv_handler(int sig, siginfo_t *si, void *uctx)
{
    braid__worker *w = tls_w;
    braid_task *t = w != NULL ? w->cur : NULL;
    if (t != NULL && t->fiber != NULL) {
        braid__stack *s = (braid__stack *)(void *)((char *)t->fiber - offsetof(braid__stack, fiber));
        if (braid__stack_guard_hit(s, si->si_addr)) {
            char buf[512];
            int n = snprintf(buf, sizeof buf,
                             "braid: stack overflow in task %p (body %p) on worker %u: its "
                             "%zu-byte stack is too small.\n"
                             "braid: raise braid_rt_opts.stack_size (now %zu; try %zu) or "
                             "move large buffers off the stack.\n",
                             (void *)t, (void *)(uintptr_t)t->fn, w->id, s->fiber.size,
                             w->rt->stack_size, w->rt->stack_size * 4);
            if (n > 0)
                (void)!write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
            signal(SIGABRT, SIG_DFL);
            abort();
        }
    }
    /* Not ours: hand it to whoever had SIGSEGV before us. */
    if (old_segv.sa_flags & SA_SIGINFO) {
        if (old_segv.sa_sigaction != NULL) {
            old_segv.sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (old_segv.sa_handler != SIG_DFL && old_segv.sa_handler != SIG_IGN) {
        old_segv.sa_handler(sig);
        return;
    }
    signal(SIGSEGV, SIG_DFL); /* return re-runs the access and dies normally */
}

static void install_segv(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = segv_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
}

/* ---- worker threads --------------------------------------------------- */

static void *worker_main(void *arg)
{
    braid__worker *w = arg;
    braid_rt *rt = w->rt;
    tls_w = w;
    /* SIGPIPE blocked on braid's own threads: a write to a pipe or socket
     * whose reader left returns EPIPE to the coroutine instead of killing
     * the process (a pending, blocked SIGPIPE on this thread is harmless). */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    char name[16];
    snprintf(name, sizeof name, "braid-w%u", w->id);
    pthread_setname_np(pthread_self(), name);
    if (rt->pin) {
        cpu_set_t set, one;
        if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
            int k = (int)(w->id % (unsigned)CPU_COUNT(&set)), seen = 0;
            for (int c = 0; c < CPU_SETSIZE; c++) {
                if (CPU_ISSET(c, &set) && seen++ == k) {
                    CPU_ZERO(&one);
                    CPU_SET(c, &one);
                    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
                    break;
                }
            }
        }
    }
    if (w->altstack != NULL) {
        stack_t ss = {.ss_sp = w->altstack, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
        sigaltstack(&ss, NULL);
    }
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &w->sched_fiber.lo, &w->sched_fiber.size);
        pthread_attr_destroy(&attr);
    }
#if defined(BRAID_TSAN)
    w->sched_fiber.tsan = __tsan_get_current_fiber();
#endif
    if (rt->on_start != NULL)
        rt->on_start(w->id, rt->hook_arg);
    for (;;) {
        uintptr_t e = next_entry(w);
        if (e == 0)
            e = steal_work(w, false);
        if (e != 0) {
            stop_searching(w);
            run_entry(w, e);
            continue;
        }
        if (braid__load_relaxed(&rt->stop))
            break;
        /* Idle: fire every worker's expired timers and poll every worker's
         * fds before sleeping. */
        if (fire_all(w, braid__clock_ns()) != 0 || poll_all(w) != 0)
            continue;
        if (park(w)) {
            /* The re-check saw work: search for it even above the half. */
            e = steal_work(w, true);
            if (e != 0) {
                stop_searching(w);
                run_entry(w, e);
            }
        }
    }
    stop_searching(w);
    if (rt->on_stop != NULL)
        rt->on_stop(w->id, rt->hook_arg);
    if (w->altstack != NULL) {
        stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
        sigaltstack(&ss, NULL);
    }
    tls_w = NULL;
    return NULL;
}

int braid__worker_start_all(braid_rt *rt)
{
    if (!rt->no_segv)
        pthread_once(&segv_once, install_segv);
    for (unsigned i = 0; i < rt->nworkers; i++) {
        braid__worker *w = rt->workers[i];
        if (!rt->no_segv) {
            void *a = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0);
            w->altstack = a == MAP_FAILED ? NULL : a;
        }
        if (braid__fault(BRAID__FAULT_THREAD) ||
            pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            braid__worker_stop_all(rt);
            return -EAGAIN;
        }
        /* Relaxed: only the thread that starts and stops workers reads it. */
        braid__store_relaxed(&rt->started_workers, i + 1);
    }
    return 0;
}

void braid__worker_stop_all(braid_rt *rt)
{
    /* Seq_cst: a worker that is parking re-checks stop after its seq_cst
     * fence (park, step 3), so it either sees stop or sees park_word = 1
     * stored below, after its own reset of the word. */
    braid__store_seqcst(&rt->stop, 1);
    unsigned n = (unsigned)braid__load_relaxed(&rt->started_workers);
    for (unsigned i = 0; i < n; i++) {
        braid__worker *w = rt->workers[i];
        braid__store32_release(&w->park_word, 1);
        wake_parked(w);
    }
    for (unsigned i = 0; i < n; i++)
        pthread_join(rt->workers[i]->thread, NULL);
    braid__store_relaxed(&rt->started_workers, 0);
    for (unsigned i = 0; i < rt->nworkers; i++) {
        braid__worker *w = rt->workers[i];
        if (w->altstack != NULL) {
            munmap(w->altstack, ALTSTACK_SIZE);
            w->altstack = NULL;
        }
    }
}
