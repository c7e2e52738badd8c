/* rt.c - the public verbs: runtimes, spawn, await, yield, and handles.
 *
 * Owns: argument checks and error codes of the API, runtime construction
 * and the shutdown protocol, and the inline-await fast path. Delegates
 * state transitions to task.c and scheduling to worker.c.
 *
 * Shutdown protocol (braid_rt_free):
 *   1. Set closing: spawns now fail with -ESHUTDOWN.
 *   2. Until no task is alive (spawned minus completed, summed over the
 *      workers' counters): cancel every live task (a sweep over the task
 *      slab, so no registry costs anything on the spawn path), then sleep a
 *      millisecond. Workers keep running: cancelled tasks wake, clean up and
 *      end; queued ones end as -ECANCELED without running.
 *   3. Set stop, wake every worker, join them.
 *   4. Free deques, stacks, the slab and the runtime.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "futex.h"
#include "internal.h"

#define INLINE_STACK_MARGIN ((size_t)8 * 1024)

void braid_rt_opts_init(braid_rt_opts *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof *o);
}

static unsigned cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static void rt_destroy(braid_rt *rt)
{
    if (rt->workers != NULL) {
        for (unsigned i = 0; i < rt->nworkers; i++) {
            braid__worker *w = rt->workers[i];
            if (w == NULL)
                continue;
            if (w->trace != NULL) {
                braid__free(w->trace->ev);
                braid__free(w->trace);
            }
            braid__deque_destroy(&w->dq);
            braid__reactor_destroy(&w->io);
            if (w->timers_ready)
                braid__timer_heap_destroy(&w->timers);
            braid__aligned_free(w);
        }
        braid__free(rt->workers);
    }
    braid__pool_free(rt->pool); /* after the workers: its last jobs have no waiter */
    braid__free(rt->trace_path);
    braid__slab_destroy(rt);
    if (rt->stacks_ready)
        braid__stack_source_destroy(&rt->stacks);
    braid__free(rt->inj_ring);
    braid__free(rt->idle_ids);
    pthread_mutex_destroy(&rt->idle_lock);
    pthread_mutex_destroy(&rt->inj_lock);
    pthread_mutex_destroy(&rt->slab_lock);
    braid__free(rt);
}

int braid_rt_new(braid_rt **out, const braid_rt_opts *o)
{
    braid_rt_opts def;
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (o == NULL) {
        braid_rt_opts_init(&def);
        o = &def;
    }
    unsigned nw = o->workers ? o->workers : cpu_count();
    if (nw > BRAID_MAX_WORKERS)
        return -EINVAL;
    size_t ss = o->stack_size ? o->stack_size : BRAID_DEFAULT_STACK;
    if (ss < BRAID_MIN_STACK || ss > BRAID_MAX_STACK)
        return -EINVAL;
    ss = braid__stack_round(ss);

    braid_rt *rt = braid__calloc(1, sizeof *rt);
    if (rt == NULL)
        return -ENOMEM;
    rt->nworkers = nw;
    rt->stack_size = ss;
    rt->pin = o->pin_workers;
    rt->no_segv = o->no_overflow_handler;
    rt->on_start = o->on_worker_start;
    rt->on_stop = o->on_worker_stop;
    rt->hook_arg = o->hook_arg;
    rt->seed = o->seed ? o->seed : 0x9E3779B97F4A7C15ULL;
    rt->pid = (int)getpid();
    pthread_mutex_init(&rt->idle_lock, NULL);
    pthread_mutex_init(&rt->inj_lock, NULL);
    pthread_mutex_init(&rt->slab_lock, NULL);
    braid__stack_source_init(&rt->stacks, ss);
    rt->stacks_ready = true;
    int perr = braid__pool_new(&rt->pool, o->blocking_threads, o->blocking_queue, o->blocking_idle_ns);
    if (perr != 0) {
        rt_destroy(rt);
        return perr;
    }
    rt->idle_ids = braid__calloc(nw, sizeof *rt->idle_ids);
    rt->inj_cap = 64;
    rt->inj_ring = braid__malloc(rt->inj_cap * sizeof *rt->inj_ring);
    rt->workers = braid__calloc(nw, sizeof *rt->workers);
    if (rt->idle_ids == NULL || rt->inj_ring == NULL || rt->workers == NULL) {
        rt_destroy(rt);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < nw; i++) {
        braid__worker *w = braid__aligned_alloc(BRAID__CACHELINE, sizeof *w);
        if (w == NULL) {
            rt_destroy(rt);
            return -ENOMEM;
        }
        memset(w, 0, sizeof *w);
        w->io.epfd = w->io.efd = -1; /* closed by rt_destroy only once opened */
        rt->workers[i] = w;
        if (braid__deque_init(&w->dq, 8) != 0) {
            braid__store_relaxed(&w->dq.ring, 0);
            rt_destroy(rt);
            return -ENOMEM;
        }
        w->rt = rt;
        w->id = i;
        int ioerr = braid__reactor_init(&w->io);
        if (ioerr != 0) {
            rt_destroy(rt);
            return ioerr;
        }
        uint64_t z = rt->seed + 0x9E3779B97F4A7C15ULL * (i + 1); /* splitmix64 */
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        w->rng = (z ^ (z >> 31)) | 1;
        w->urng = rt->seed ^ (0xD1B54A32D192ED03ULL * (i + 1));
        braid__stack_pool_init(&w->stacks, &rt->stacks, 64);
        braid__timer_heap_init(&w->timers);
        w->timers_ready = true;
    }
    const char *tp = o->trace_path != NULL ? o->trace_path : getenv("BRAID_TRACE");
    if (tp != NULL && tp[0] != '\0') {
        rt->trace_path = braid__strdup(tp);
        rt->trace_t0 = braid_now();
        if (rt->trace_path == NULL) {
            rt_destroy(rt);
            return -ENOMEM;
        }
        for (unsigned i = 0; i < nw; i++) {
            braid__tracebuf *t = braid__calloc(1, sizeof *t);
            if (t != NULL && (t->ev = braid__malloc(BRAID__TRACE_EVENTS * sizeof *t->ev)) == NULL) {
                braid__free(t);
                t = NULL;
            }
            if (t == NULL) {
                rt_destroy(rt);
                return -ENOMEM;
            }
            t->cap = BRAID__TRACE_EVENTS;
            rt->workers[i]->trace = t;
        }
    }
    int err = braid__worker_start_all(rt);
    if (err != 0) {
        rt_destroy(rt);
        return err;
    }
    *out = rt;
    return 0;
}

/* A runtime used from a child forked after it was made: its workers do not
 * exist there. getpid is a system call, so only the thread-facing verbs
 * check (a coroutine cannot run in such a child). */
static bool foreign_process(const braid_rt *rt)
{
    return (int)getpid() != rt->pid;
}

static uintptr_t live_tasks(braid_rt *rt)
{
    /* Relaxed: counters are monotonic snapshots; shutdown polls until the
     * difference is zero and stays zero (no spawns once closing). */
    uintptr_t spawned = braid__load_relaxed(&rt->foreign_spawned), done = 0;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        spawned += braid__load_relaxed(&rt->workers[i]->n_spawned);
        done += braid__load_relaxed(&rt->workers[i]->n_completed);
    }
    return spawned - done;
}

int braid_rt_shutdown(braid_rt *rt, int64_t deadline, size_t *running, int report)
{
    if (rt == NULL)
        return -EINVAL;
    braid__worker *w = braid__worker_current();
    if (w != NULL && w->rt == rt)
        return -EPERM;
    if (foreign_process(rt))
        return -ECHILD;
    /* Seq_cst: as in braid_rt_free. */
    braid__store_seqcst(&rt->closing, 1);
    uintptr_t left = live_tasks(rt);
    if (left != 0)
        braid__cancel_all(rt); /* at least once, whatever the deadline */
    while ((left = live_tasks(rt)) != 0 && braid__clock_ns() < deadline) {
        braid__cancel_all(rt);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (running != NULL)
        *running = (size_t)left;
    if (left == 0)
        return 0;
    if (report)
        braid__report_live(rt, stderr);
    return -ETIMEDOUT;
}

int braid_rt_free(braid_rt *rt)
{
    if (rt == NULL)
        return -EINVAL;
    braid__worker *w = braid__worker_current();
    if (w != NULL && w->rt == rt)
        return -EPERM;
    if (foreign_process(rt))
        return -ECHILD;
    /* Seq_cst: spawns check closing; a spawn that missed it is counted in
     * the live total that step 2 waits for. */
    braid__store_seqcst(&rt->closing, 1);
    while (live_tasks(rt) != 0) {
        braid__cancel_all(rt);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    braid__worker_stop_all(rt);
    int err = 0;
    if (rt->trace_path != NULL) {
        err = braid__trace_write(rt);
        if (err != 0)
            fprintf(stderr, "braid: could not write the trace to %s: %s\n", rt->trace_path,
                    braid_strerror(err));
    }
    rt_destroy(rt);
    return err;
}

static braid_task *task_new(braid_rt *rt, braid__worker *w, braid_fn fn, void *arg, bool handle)
{
    braid_task *t = w != NULL ? braid__task_alloc_fast(rt, w) : braid__task_alloc(rt, NULL);
    if (t == NULL)
        return NULL;
    /* Everything else is set when the task starts (parent, fiber, escaped,
     * ctx, stack) or ends (ret), or is an invariant of free tasks (stack and
     * waiters NULL, rt fixed for the slab's life). */
    t->fn = fn;
    t->arg = arg;
    t->detached = !handle;
    braid__store32_release(&t->retrieved, 0);
    /* Release: a claimer's acquire (CAS or load) sees the fields above. */
    braid__store_release(&t->state, ST_IDLE | (handle ? 3 : 2) * REF_ONE);
    return t;
}

static bool closing(braid_rt *rt)
{
    /* Relaxed: shutdown tolerates a spawn that races with it (step 2). */
    return braid__load_relaxed(&rt->closing) != 0;
}

static int spawn_fail(braid_task **out, int err)
{
    if (out != NULL)
        *out = NULL;
    return err;
}

static inline __attribute__((always_inline)) int spawn_here(braid__worker *w, braid_task **out,
                                                            braid_fn fn, void *arg,
                                                            void (*arg_free)(void *))
{
    if (__builtin_expect(fn == NULL, 0))
        return spawn_fail(out, -EINVAL);
    if (__builtin_expect(w == NULL, 0))
        return spawn_fail(out, -EPERM);
    if (__builtin_expect(closing(w->rt), 0))
        return spawn_fail(out, -ESHUTDOWN);
    braid_task *t = task_new(w->rt, w, fn, arg, out != NULL);
    if (__builtin_expect(t == NULL, 0))
        return spawn_fail(out, -ENOMEM);
    if (arg_free != NULL) /* a constant NULL in braid_spawn: no code */
        t->arg_free = arg_free; /* published by the push's release */
    /* Relaxed: the owner is the only writer of its counters. */
    braid__inc_owned(&w->n_spawned); /* only w writes it */
    braid__trace(w, TEV_SPAWN, (uintptr_t)t, 0);
    braid__push_start(w, t);
    if (out != NULL)
        *out = t;
    return 0;
}

int braid_spawn(braid_task **out, braid_fn fn, void *arg)
{
    return spawn_here(braid__worker_here(), out, fn, arg, NULL);
}

int braid__rt_spawn_owning(braid_rt *rt, braid_task **out, braid_fn fn, void *arg,
                           void (*arg_free)(void *))
{
    if (out != NULL)
        *out = NULL;
    if (rt == NULL || fn == NULL)
        return -EINVAL;
    braid__worker *w = braid__worker_current();
    if (w != NULL && w->rt == rt)
        return spawn_here(braid__worker_here(), out, fn, arg, arg_free);
    if (foreign_process(rt))
        return -ECHILD;
    if (closing(rt))
        return -ESHUTDOWN;
    braid_task *t = task_new(rt, NULL, fn, arg, out != NULL);
    if (t == NULL)
        return -ENOMEM;
    t->arg_free = arg_free; /* published by the injection's release */
    /* Acq_rel RMW (any thread may spawn from outside): counted before the
     * task can run, so the live total never goes negative. */
    braid__fetch_add(&rt->foreign_spawned, 1);
    int err = braid__inject(rt, (uintptr_t)t);
    if (err != 0) {
        braid__fetch_add(&rt->foreign_spawned, (uintptr_t)-1);
        /* Relaxed: the task was never published. */
        braid__store_relaxed(&t->state, ST_FREE);
        t->arg_free = NULL; /* the caller keeps arg on failure */
        braid__task_free(rt, NULL, t);
        return err;
    }
    if (out != NULL)
        *out = t;
    return 0;
}

int braid_rt_spawn(braid_rt *rt, braid_task **out, braid_fn fn, void *arg)
{
    return braid__rt_spawn_owning(rt, out, fn, arg, NULL);
}

int braid__status_of(braid_task *t, int64_t *result)
{
    /* Acquire: pairs with the completion's release; t->ret is then final. */
    (void)braid__load_acquire(&t->state);
    int64_t r = t->ret;
    /* Release store (several awaiters may store 1 at once): read when the
     * task is freed, after the last reference's acquire. */
    braid__store32_release(&t->retrieved, 1);
    if (r < 0)
        return r < INT_MIN ? INT_MIN : (int)r;
    if (result != NULL)
        *result = r;
    return 0;
}

/* Run t, claimed by us, on our own stack. exclusive: we took its start entry
 * and hold its only handle, so plain stores are enough (internal.h). */
static void run_inline(braid__worker *w, braid_task *self, braid_task *t, bool exclusive)
{
    braid__set_parent(t, self);
    t->fiber = self->fiber;
    t->escaped = false;
    w->cur = t;
    braid__inc_owned(&w->n_inlined); /* only w writes it */
    int64_t r;
    /* Relaxed: a cancel that lands after this read is delivered at the
     * task's first waiting call instead. */
    if (!exclusive && (braid__load_relaxed(&t->state) & F_CANCEL))
        r = -ECANCELED;
    else
        r = t->fn(t->arg);
    w = braid__worker_current(); /* t may have suspended and moved us */
    t->ret = r;
    w->cur = self;
    braid__set_parent(t, NULL); /* no stale parent link once it ended */
    if (exclusive && !t->escaped &&
        braid__load_relaxed(&t->state) == (ST_RUNNING | 2 * REF_ONE)) {
        /* Nobody else holds or can get a reference: no flag can change.
         * Release: orders t->ret before DONE for a later acquire. */
        braid__store_release(&t->state, ST_DONE | REF_ONE);
        braid__inc_owned(&w->n_completed); /* only w writes it */
        return;
    }
    braid__task_complete(w, t);
}

static bool stack_room(braid_task *self)
{
    char probe;
    const char *lo = self->fiber->lo;
    return (size_t)(&probe - lo) > INLINE_STACK_MARGIN;
}

int braid__wait_done(braid__worker *w, braid_task *self, braid_task *t, int64_t deadline)
{
    for (braid_task *p = braid__parent(self); p != NULL; p = braid__parent(p))
        if (p == t)
            return -EDEADLK; /* t is running us inline: it waits for us */
    if (braid__take_cancel(self))
        return -ECANCELED;
    braid__waiter n = {.task = self};
    if (!braid__waiter_add(t, &n))
        return 0;
    for (;;) {
        int err = braid__park(&w, self, deadline);
        /* Acquire: pairs with the completion's release (t->ret). */
        if ((braid__load_acquire(&t->state) & ST_MASK) == ST_DONE) {
            braid__waiter_remove(t, &n); /* waits out a completer still waking */
            if (err == -ECANCELED)
                braid__rearm_cancel(self); /* t ended anyway: the next wait gets it */
            return 0;
        }
        if (err != 0) {
            braid__waiter_remove(t, &n);
            return err;
        }
    }
}

/* Every case of braid_await but the exclusive inline one. */
static __attribute__((noinline)) int await_slow(braid__worker *w, braid_task *t, int64_t *result)
{
    if (t == NULL)
        return -EINVAL;
    if (w == NULL || w->cur == NULL)
        return -EPERM;
    braid_task *self = w->cur;
    if (t == self)
        return -EDEADLK;
    /* Acquire: pairs with the spawner's release store of IDLE. */
    uintptr_t st = braid__load_acquire(&t->state);
    if ((st & ST_MASK) == ST_IDLE && t->rt == w->rt && stack_room(self)) {
        /* Our own entry for t, at the bottom (take) or at the top (awaiting
         * in spawn order: steal it from ourselves, one CAS, rather than
         * claim it and leave a stale entry to pop and drop later). */
        if (braid__deque_take_if(&w->dq, (uintptr_t)t) != 0 ||
            braid__deque_steal_if(&w->dq, (uintptr_t)t) != 0) {
            st = braid__load_acquire(&t->state);
            if (st == (ST_IDLE | 3 * REF_ONE)) {
                /* Exclusive: the entry is ours and so is the only
                 * handle; nobody else can touch the word. */
                braid__store_relaxed(&t->state, ST_RUNNING | 2 * REF_ONE);
                run_inline(w, self, t, true);
                return braid__status_of(t, result);
            }
            if (braid__task_claim(t, true)) {
                run_inline(w, self, t, false);
                return braid__status_of(t, result);
            }
            braid__task_drop(w, t, 1); /* claimed elsewhere: drop the entry */
        } else if (braid__task_claim(t, false)) {
            run_inline(w, self, t, false);
            return braid__status_of(t, result);
        }
        w = braid__worker_current();
        st = braid__load_acquire(&t->state);
    }
    if ((st & ST_MASK) != ST_DONE) {
        int err = braid__wait_done(w, self, t, BRAID_FOREVER);
        if (err == -ECANCELED) {
            /* asyncio: a task cancelled while it awaits another passes the
             * cancellation on, then waits for it (braid_shield does not). */
            braid_cancel(t);
            err = braid__wait_done(braid__worker_current(), self, t, BRAID_FOREVER);
        }
        if (err != 0)
            return err;
    }
    return braid__status_of(t, result);
}

int braid_await(braid_task *t, int64_t *result)
{
    braid__worker *w = braid__worker_here();
    /* The fork-join case first: t is unstarted, sits at the bottom of our
     * deque and ours is its only handle (refs: handle, lifecycle, queue).
     * Taking the entry back makes it ours alone (internal.h), so the claim
     * is a plain store. Acquire load: pairs with the spawner's release
     * store of IDLE. The state cannot change between the load and the take:
     * only the entry's holder or a handle holder could claim it. */
    if (__builtin_expect(t != NULL && w != NULL && w->cur != NULL, 1) &&
        braid__load_acquire(&t->state) == (ST_IDLE | 3 * REF_ONE) && stack_room(w->cur) &&
        braid__deque_take_if(&w->dq, (uintptr_t)t) != 0) {
        /* run_inline(exclusive) and status_of, written out for the hot path. */
        braid_task *self = w->cur;
        braid__store_relaxed(&t->state, ST_RUNNING | 2 * REF_ONE);
        braid__set_parent(t, self);
        t->fiber = self->fiber;
        t->escaped = false;
        w->cur = t;
        braid__inc_owned(&w->n_inlined); /* only w writes it */
        int64_t r = t->fn(t->arg);
        w = braid__worker_current(); /* t may have suspended and moved us */
        t->ret = r;
        w->cur = self;
        braid__set_parent(t, NULL); /* no stale parent link once it ended */
        if (__builtin_expect(!t->escaped &&
                                 braid__load_relaxed(&t->state) == (ST_RUNNING | 2 * REF_ONE),
                             1)) {
            /* Release: orders t->ret before DONE for a later acquire. */
            braid__store_release(&t->state, ST_DONE | REF_ONE);
            braid__inc_owned(&w->n_completed); /* only w writes it */
        } else {
            braid__task_complete(w, t);
        }
        /* We ran it: its result is ours without another acquire. */
        braid__store32_release(&t->retrieved, 1);
        if (r < 0)
            return r < INT_MIN ? INT_MIN : (int)r;
        if (result != NULL)
            *result = r;
        return 0;
    }
    return await_slow(w, t, result);
}

int braid_yield(void)
{
    braid__worker *w = braid__worker_here(); /* nothing switched yet */
    if (w == NULL || w->cur == NULL)
        return -EPERM;
    braid_task *self = w->cur;
    if (!braid__yield_fast(w, self))
        braid__suspend(w, self, ACT_YIELD);
    /* A pending cancellation is delivered here, after the yield: one check
     * per yield instead of two (the yield is the suspension it hits). */
    if (braid__take_cancel(self))
        return -ECANCELED;
    return 0;
}

int braid_rt_block_on(braid_rt *rt, braid_fn fn, void *arg, int64_t *result)
{
    if (rt == NULL || fn == NULL)
        return -EINVAL;
    if (braid__worker_current() != NULL)
        return -EPERM;
    if (foreign_process(rt))
        return -ECHILD;
    if (closing(rt))
        return -ESHUTDOWN;
    braid_task *t = task_new(rt, NULL, fn, arg, true);
    if (t == NULL)
        return -ENOMEM;
    braid__waiter n = {.task = NULL};
    braid__waiter_add(t, &n); /* before anyone can run it: cannot be DONE */
    /* Acq_rel RMW: counted before it can run (see braid_rt_spawn). */
    braid__fetch_add(&rt->foreign_spawned, 1);
    int err = braid__inject(rt, (uintptr_t)t);
    if (err != 0) {
        braid__fetch_add(&rt->foreign_spawned, (uintptr_t)-1);
        braid__task_free(rt, NULL, t);
        return err;
    }
    /* Acquire: pairs with the completer's release store of the word. */
    while (braid__load32_acquire(&n.futex) == 0)
        braid__futex_wait(&n.futex, 0);
    int status = braid__status_of(t, result);
    braid_task_release(t);
    return status;
}

int braid_join(braid_task *t, int64_t *result, int64_t deadline)
{
    if (t == NULL)
        return -EINVAL;
    braid__worker *w = braid__worker_current();
    if (w != NULL)
        return w->cur != NULL ? braid_await_until(t, result, deadline) : -EPERM;
    if (foreign_process(t->rt))
        return -ECHILD;
    braid__waiter n = {.task = NULL};
    braid__store32_release(&n.futex, 0); /* release: not shared yet; cheap */
    if (braid__waiter_add(t, &n)) {
        /* Acquire: pairs with the completer's release store of the word. */
        while (braid__load32_acquire(&n.futex) == 0) {
            if (deadline != BRAID_FOREVER && braid__clock_ns() >= deadline) {
                /* Unlink (under the task's WLOCK: a completer that already
                 * took us off the list is done with the node once we hold
                 * it). Then it may still have ended meanwhile. */
                braid__waiter_remove(t, &n);
                /* Acquire: pairs with the completion's release. */
                if ((braid__load_acquire(&t->state) & ST_MASK) != ST_DONE)
                    return -ETIMEDOUT;
                break;
            }
            braid__futex_wait_until(&n.futex, 0, deadline);
        }
    }
    return braid__status_of(t, result);
}

int braid_run(braid_fn fn, void *arg, const braid_rt_opts *o, int64_t *result)
{
    if (fn == NULL)
        return -EINVAL;
    braid_rt *rt;
    int err = braid_rt_new(&rt, o);
    if (err != 0)
        return err;
    int status = braid_rt_block_on(rt, fn, arg, result);
    err = braid_rt_free(rt);
    return status != 0 ? status : err;
}

braid_task *braid_task_retain(braid_task *t)
{
    if (t != NULL)
        braid__fetch_add_relaxed(&t->state, REF_ONE); /* relaxed: we already own one */
    return t;
}

void braid_task_release(braid_task *t)
{
    if (t == NULL)
        return;
    /* Acquire: if ours is the last reference of a finished task, nobody
     * else can touch it, and the acquire orders the completer's writes
     * before we recycle it. */
    uintptr_t st = braid__load_acquire(&t->state);
    if (st == (ST_DONE | REF_ONE)) {
        braid__task_free_fast(t->rt, braid__worker_here(), t);
        return;
    }
    braid__task_drop(braid__worker_here(), t, 1);
}

int braid_task_done(braid_task *t)
{
    if (t == NULL)
        return -EINVAL;
    /* Acquire: a caller that sees 1 may read the result with braid_await. */
    return (braid__load_acquire(&t->state) & ST_MASK) == ST_DONE;
}

braid_task *braid_self(void)
{
    braid__worker *w = braid__worker_current();
    if (w == NULL || w->cur == NULL)
        return NULL;
    w->cur->escaped = true;
    return w->cur;
}

braid_rt *braid_current(void)
{
    braid__worker *w = braid__worker_current();
    return w != NULL ? w->rt : NULL;
}

int braid_rt_workers(const braid_rt *rt)
{
    return rt != NULL ? (int)rt->nworkers : -EINVAL;
}

int braid_worker_id(void)
{
    braid__worker *w = braid__worker_current();
    return w != NULL ? (int)w->id : -1;
}

/* Add worker w's counters to *out. Relaxed loads: every counter has one
 * writer (its worker) and only grows; a snapshot is what stats promise. */
static void add_worker_stats(braid__worker *w, braid_stats *out)
{
    {
        out->spawned += braid__load_relaxed(&w->n_spawned);
        out->completed += braid__load_relaxed(&w->n_completed);
        out->started += braid__load_relaxed(&w->n_started); /* by the loop */
        out->inlined += braid__load_relaxed(&w->n_inlined);
        out->stolen += braid__load_relaxed(&w->n_stolen);
        out->steal_tries += braid__load_relaxed(&w->n_steal_tries);
        out->parks += braid__load_relaxed(&w->n_parks);
        out->timers_fired += braid__load_relaxed(&w->n_timers_fired);
        out->io_waits += braid__load_relaxed(&w->n_io_waits);
        out->stolen_out += braid__load_relaxed(&w->n_stolen_out);
        out->wakeups += braid__load_relaxed(&w->n_wakeups);
        out->switches += braid__load_relaxed(&w->n_switches);
        uint64_t d = braid__load_relaxed(&w->n_max_depth);
        if (d > out->max_deque)
            out->max_deque = d;
        out->stacks_in_use += (uint64_t)braid__load_relaxed(&w->n_stacks_live);
    }
}

int braid_rt_stats(braid_rt *rt, braid_stats *out)
{
    if (rt == NULL || out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    /* Relaxed: see add_worker_stats. */
    out->spawned = braid__load_relaxed(&rt->foreign_spawned);
    for (unsigned i = 0; i < rt->nworkers; i++)
        add_worker_stats(rt->workers[i], out);
    out->started += out->inlined;
    out->live = out->spawned - out->completed;
    out->stack_bytes = braid__stack_mapped(&rt->stacks);
    return 0;
}

int braid_rt_worker_stats(braid_rt *rt, unsigned worker, braid_stats *out)
{
    if (rt == NULL || out == NULL || worker >= rt->nworkers)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    add_worker_stats(rt->workers[worker], out);
    out->started += out->inlined;
    out->live = out->spawned - out->completed;
    out->stack_bytes = braid__stack_mapped(&rt->stacks);
    return 0;
}

const char *braid_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case -EPERM: return "not allowed here (a waiting call outside a coroutine?)";
    case -EDEADLK: return "would deadlock (awaiting itself?)";
    case -ESHUTDOWN: return "runtime is shutting down";
    default: break;
    }
    if (err > 0)
        return "not an error code";
    /* glibc's table of errno texts: static strings, thread-safe. */
    const char *s = strerrordesc_np(-err);
    return s != NULL ? s : "unknown error";
}
