/* internal.h - the shared definitions of braid's rooms: the task object and
 * its state word, workers, and the runtime.
 *
 * Task state word (one braid__aword per task):
 *   bits 0-2   lifecycle: FREE, IDLE (spawned, not started), RUNNING
 *              (running, switching out, or woken: its resume entry queued),
 *              SUSPENDED (context saved, waiting), DONE
 *   NOTIFIED   a wake-up arrived while RUNNING; the scheduler re-queues the
 *              task at its next suspension instead of suspending it
 *   CANCEL     cancellation requested and not yet delivered
 *   WAITERS    the waiter list is non-empty
 *   WLOCK      the waiter list is locked (a bit spin lock; held for a few
 *              instructions, never across a switch)
 *   bits 16+   reference count
 * References: one per handle, one "lifecycle" reference held until DONE, and
 * one "queue" reference held by the task's start entry until that entry is
 * consumed (taken, stolen, or popped from the injection queue). The queue
 * reference is what makes claims safe: task memory is never reused while an
 * entry that names it sits in a queue, so a stale entry can only ever see
 * its own task, already claimed, and drop its reference.
 *
 * Claiming: exactly one party moves a task IDLE -> RUNNING: the worker that
 * consumes its start entry, or an awaiter (braid_await runs it inline).
 * When the awaiter took the start entry itself and holds the only handle
 * (refs == handle + lifecycle + queue, no flags), nobody else can reach the
 * task, so the claim and the completion are plain stores. Otherwise every
 * transition is a CAS.
 *
 * Queue entries are words: a task pointer with tag bit 0 clear is a start
 * entry (claim it), with the bit set a resume entry (this entry owns the
 * right to resume the task; there is at most one). A wake moves a task
 * SUSPENDED -> RUNNING at once, so whoever resumes it touches no atomic: a
 * queued task is RUNNING, and a second wake before it runs only sets
 * NOTIFIED (a stray wake-up later, which every waiting loop allows). A task in
 * its worker's yield queue stays RUNNING (no atomic on the yield path): a
 * wake-up or cancel that lands meanwhile only sets NOTIFIED/CANCEL, which
 * its next waiting call sees.
 */
#ifndef BRAID_INTERNAL_H
#define BRAID_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "../include/braid.h"
#include "alloc.h"
#include "atomics.h"
#include "ctx.h"
#include "deque.h"
#include "io.h"
#include "pool.h"
#include "stack.h"
#include "timer.h"
#include "trace.h"

#define ST_MASK ((uintptr_t)0x7)
#define ST_FREE ((uintptr_t)0)
#define ST_IDLE ((uintptr_t)1)
#define ST_RUNNING ((uintptr_t)2)
#define ST_SUSPENDED ((uintptr_t)3)
/* 4 was READY: woken tasks are RUNNING (see above). */
#define ST_DONE ((uintptr_t)5)
#define F_NOTIFIED ((uintptr_t)0x08)
#define F_CANCEL ((uintptr_t)0x10)
#define F_WAITERS ((uintptr_t)0x20)
#define F_WLOCK ((uintptr_t)0x40)
#define REF_SHIFT 16
#define REF_ONE ((uintptr_t)1 << REF_SHIFT)
#define REFS(st) ((st) >> REF_SHIFT)

/* Periodic checks of the worker loop (worker.c), on one tick counter (a
 * pick of the loop or a hand-off is a tick). Every check falls on a tick
 * that is a multiple of TICK_CHECK, so 7 ticks in 8 test one mask:
 *   own timers         every  8 ticks (tick %  8 == 0);
 *   yield queue first  every 32 ticks (tick % 32 == 8);
 *   injection first    every 64 ticks (tick % 64 == 16);
 *   own reactor polled every 64 ticks (tick % 64 == 48), out of step with
 *   the injection checks. */
#define TICK_CHECK 8u
#define TICK_TIMER(k) (((k) & 7u) == 0)
#define TICK_YIELD(k) (((k) & 31u) == 8)
#define TICK_INJECT(k) (((k) & 63u) == 16)
#define TICK_IO(k) (((k) & 63u) == 48)

#define ENTRY_RESUME ((uintptr_t)1)
#define ENTRY_YIELDED ((uintptr_t)2) /* from the yield queue: still RUNNING */
#define ENTRY_TASK(e) ((braid_task *)((e) & ~(ENTRY_RESUME | ENTRY_YIELDED)))

typedef struct braid__worker braid__worker;

/* Somebody waiting for a task to end: a coroutine (task != NULL) or a
 * thread blocked on futex. Lives on the waiter's stack; linked into the
 * awaited task's list under its WLOCK. */
typedef struct braid__waiter {
    struct braid__waiter *next, *prev;
    braid_task *task;
    braid__a32 futex; /* thread waiter: 0 until woken */
    bool linked;      /* guarded by the awaited task's WLOCK */
    /* If set, the completer calls hook(n, w) instead of waking task or the
     * thread; it runs under the awaited task's WLOCK, so it must be short
     * (wait.c uses it to collect completions in order). */
    void (*hook)(struct braid__waiter *n, braid__worker *w);
    void *ctx;
    size_t index;
    struct braid__waiter *done_next;
} braid__waiter;

struct braid_task {
    /* Line 1: what the claim, the run and the completion touch. */
    braid__aword state;  /* any thread, atomically; see above */
    braid_fn fn;         /* written at spawn, read by the claimer */
    void *arg;
    int64_t ret;         /* written by the runner before DONE (release) */
    braid__aword parent; /* awaiter whose stack this task runs on inline (a
                          * braid_task *; atomic: braid_cancel reads it from
                          * any thread; relaxed accesses, plain on x86) */
    braid__fiber *fiber; /* the stack this task's frames live on */
    braid__ctx ctx;      /* saved context while switched out */
    bool escaped;        /* braid_self() handed out its address: no plain
                          * fast-path transitions (written by its runner) */
    /* Colder. */
    braid__stack *stack; /* the stack this task owns (NULL: none, inline) */
    char *msg;           /* braid_fail's message, or NULL; freed with the task */
    bool detached;       /* spawned without a handle */
    braid__a32 retrieved; /* its status was observed (await, gather, ...) */
    braid_task *qnext;   /* link in owner-private FIFOs and free lists */
    void (*arg_free)(void *); /* frees arg when the task is freed, whether
                               * its body ran or not (NULL in free tasks).
                               * Written by the spawner before the task is
                               * published (the push's or injection's
                               * release), read by whoever frees it (after
                               * the last reference's acquire). */
    braid__waiter *waiters; /* guarded by WLOCK */
    braid_rt *rt;
    /* The task running inline on our stack that last parked (ours or
     * deeper): set by that task each time it parks, never cleared (no
     * cost on the inline-await fast path), read by braid_cancel, which
     * must wake it, as we cannot wake while it waits. A link is current
     * only if the linked task's parent is us; a stale one that looks
     * current wakes a stray task, which is harmless: tasks are
     * type-stable memory and waiters sleep on after a stray wake-up. */
    braid__aword inline_child;
};

/* Why a coroutine switched back to its worker's loop. */
enum { ACT_NONE, ACT_YIELD, ACT_WAIT, ACT_DONE };

struct braid__worker {
    braid__deque dq; /* own cache lines (see deque.h) */

    /* Owner-private: written and read only by this worker's thread. */
    _Alignas(BRAID__CACHELINE) braid_rt *rt;
    unsigned id;
    unsigned lifo_runs;   /* consecutive runs from the LIFO slot */
    uintptr_t lifo;       /* resume entry of the most recently woken task */
    braid_task *yq_head;  /* yielded tasks, FIFO */
    braid_task *yq_tail;
    unsigned tick;             /* periodic checks (TICK_CHECK above) */
    unsigned max_depth;        /* deepest own deque seen at a push */
    uint64_t rng;         /* victim choice */
    uint64_t urng;        /* braid_rand_u64 (splitmix64 state) */
    braid_task *cur;      /* innermost task running on this worker */
    braid__aword n_switches; /* statistics (see below): switches into a
                              * coroutine, here beside cur as the switch
                              * paths touch this line anyway */
    int action;           /* set by a coroutine before it switches back */
    braid_task *action_task;
    bool searching;
    int64_t trim_at;          /* idle since before this: give stack pages back (0: unset) */
    braid__ctx sched_ctx; /* the loop's context on the thread's own stack */
    braid__fiber sched_fiber;
    braid__stack_pool stacks;
    braid_task *free;     /* recycled task objects */
    unsigned nfree;
    pthread_t thread;
    void *altstack;       /* sigaltstack for the overflow handler */
    braid__tracebuf *trace; /* NULL: tracing off (trace.h) */

    /* Statistics: written by the owner (relaxed stores, no RMW), read by
     * anyone (relaxed loads; a snapshot). */
    _Alignas(BRAID__CACHELINE) braid__aword n_spawned;
    braid__aword n_completed;
    braid__aword n_started;
    braid__aword n_inlined;
    braid__aword n_stolen;
    braid__aword n_steal_tries;
    braid__aword n_parks;
    braid__aword n_stacks_live; /* taken here minus returned here (wraps; sum it) */
    braid__aword n_io_waits;    /* fd waits that parked */
    braid__aword n_wakeups;     /* parks ended by another thread's unpark */
    braid__aword n_max_depth;   /* mirror of max_depth for readers */
    braid__aword n_stolen_out;  /* entries thieves took from us (their RMW) */

    /* Timers armed by tasks on this worker; other workers fire them when
     * idle, so the heap has its own lock (timer.h). */
    _Alignas(BRAID__CACHELINE) braid__timer_heap timers;
    bool timers_ready; /* heap initialised (for teardown after a failed new) */

    /* Written by other threads (park_word) or read by them (park_until). */
    _Alignas(BRAID__CACHELINE) braid__a32 park_word; /* 1: unparked */
    braid__aword park_until; /* parked until this time (ns); 0: not parked */
    braid__aword n_timers_fired; /* statistics, written by this worker */
    braid__a32 park_epoll;       /* 1: parked in io.epfd (unparkers interrupt it) */

    /* The reactor: fds waited on by tasks that ran here (io.h). Its epfd
     * is polled by anyone; its eventfd is read only by this worker. */
    _Alignas(BRAID__CACHELINE) braid__reactor io;
};

_Static_assert(offsetof(braid__worker, rt) % BRAID__CACHELINE == 0, "private line");

static inline braid_task *braid__parent(braid_task *t)
{
    return (braid_task *)braid__load_relaxed(&t->parent); /* relaxed: see the field */
}

static inline void braid__set_parent(braid_task *t, braid_task *p)
{
    braid__store_relaxed(&t->parent, (uintptr_t)p); /* relaxed: see the field */
}

static inline void braid__stat_max_depth(braid__worker *w, unsigned depth)
{
    w->max_depth = depth;
    braid__store_relaxed(&w->n_max_depth, depth); /* relaxed: a statistic */
}

static inline void stat_io_wait(braid__worker *w)
{
    /* Relaxed load and store, no RMW: only the owning worker writes. */
    braid__inc_owned(&w->n_io_waits); /* only w writes it */
}
_Static_assert(offsetof(braid__worker, park_word) % BRAID__CACHELINE == 0, "shared line");

struct braid_rt {
    /* Set by braid_rt_new before the workers start; read-only after. */
    unsigned nworkers;
    size_t stack_size;
    int pin;
    uint64_t seed;
    braid__worker **workers;
    braid__pool *pool; /* the blocking pool (pool.c) */

    /* Idle tracking (worker.c). nsearching and nparked are read on the push
     * path; the idle list itself only under idle_lock. */
    _Alignas(BRAID__CACHELINE) braid__aword nsearching;
    braid__aword nparked;
    braid__aword stop; /* 1: workers exit their loop */
    _Alignas(BRAID__CACHELINE) pthread_mutex_t idle_lock;
    unsigned *idle_ids;
    unsigned nidle;

    /* Injection queue: start and resume entries from threads that are not
     * this runtime's workers. A ring under a mutex: those spawns are rare
     * next to worker spawns. inj_len mirrors the count for lock-free peeks. */
    _Alignas(BRAID__CACHELINE) pthread_mutex_t inj_lock;
    uintptr_t *inj_ring;
    size_t inj_cap, inj_head, inj_count;
    braid__aword inj_len;

    /* Task memory: chunks, and a shared free list that balances workers
     * that spawn more than they free. */
    _Alignas(BRAID__CACHELINE) pthread_mutex_t slab_lock;
    void *chunks;
    braid_task *gfree;
    size_t ngfree;

    /* Stack memory shared by the workers' pools (stack.h). */
    braid__stack_source stacks;
    bool stacks_ready;

    braid__aword closing;          /* 1: braid_rt_free has begun */
    braid__aword foreign_spawned;  /* spawns by non-workers (inject) */
    braid__aword started_workers;
    int no_segv; /* opts.no_overflow_handler */
    char *trace_path;    /* where braid_rt_free writes the trace, or NULL */
    int64_t trace_t0;    /* clock at braid_rt_new: trace time zero */
    int pid;             /* the process that made it (fork policy) */
    void (*on_start)(unsigned worker, void *arg);
    void (*on_stop)(unsigned worker, void *arg);
    void *hook_arg;
};

/* worker.c */
/* The worker of the calling thread. After anything that may have switched
 * (a body ran, the caller waited), re-read it with braid__worker_current,
 * which the optimiser cannot fold into an earlier read (a coroutine may
 * resume on another thread; compilers may cache the thread pointer). Where
 * nothing can have switched since the function began, braid__worker_here is
 * the same read, inlined. */
extern __thread braid__worker *braid__tls_w __attribute__((tls_model("initial-exec")));
static inline braid__worker *braid__worker_here(void) { return braid__tls_w; }
#if defined(__x86_64__) && !defined(BRAID_CTX_UCONTEXT)
/* x86-64: the initial-exec TLS read as one asm statement, inlined (the call
 * it replaces was 4% of perf/pingpong). Volatile with a memory clobber: it
 * is never merged with, or moved across, another read or a call (a switch),
 * so %fs is read at this point, on the thread we run on now. The ucontext
 * build keeps the portable function below, so CI exercises both. */
#define BRAID__WORKER_CURRENT_INLINE 1
static inline __attribute__((always_inline)) braid__worker *braid__worker_current(void)
{
    braid__worker *w;
    __asm__ __volatile__("movq braid__tls_w@gottpoff(%%rip), %0\n\t"
                         "movq %%fs:(%0), %0"
                         : "=r"(w)
                         :
                         : "memory");
    return w;
}
#else
#define BRAID__WORKER_CURRENT_INLINE 0
braid__worker *braid__worker_current(void);
#endif
int braid__worker_start_all(braid_rt *rt);
void braid__worker_stop_all(braid_rt *rt);
void braid__wake(braid__worker *w, braid_task *t);
void braid__wake_ready(braid__worker *w, braid_task *t);
int braid__inject(braid_rt *rt, uintptr_t entry);
/* After making work visible: wake a parked worker if nobody searches. */
void braid__notify(braid_rt *rt);
/* Push a new task's start entry on w's deque (the spawn path, inlined). */
static inline void braid__push_start(braid__worker *w, braid_task *t)
{
    int depth = braid__deque_push(&w->dq, (uintptr_t)t);
    if (__builtin_expect(depth <= 1, 0)) {
        if (depth < 0) /* out of memory growing */
            braid__inject(w->rt, (uintptr_t)t);
        else
            braid__notify(w->rt);
    } else if (__builtin_expect((unsigned)depth > w->max_depth, 0)) {
        braid__stat_max_depth(w, (unsigned)depth);
    }
}
void braid__suspend(braid__worker *w, braid_task *self, int action);
/* braid_yield's shortcut: switch straight to the next yielded task when the
 * loop's choice is known. false: go through the loop (braid__suspend). */
bool braid__yield_fast(braid__worker *w, braid_task *self);
/* time.c: suspend the current task until something wakes it (0; callers
 * re-check their condition, wake-ups may be stray), its deadline passes
 * (-ETIMEDOUT; BRAID_FOREVER: none) or it is cancelled (-ECANCELED, also
 * checked before suspending). *wp is updated: the task may move. */
int braid__park(braid__worker **wp, braid_task *self, int64_t deadline);
/* braid_rt_spawn whose task owns arg: arg_free(arg) runs when the task is
 * freed, also if it was cancelled before its body ran. */
int braid__rt_spawn_owning(braid_rt *rt, braid_task **out, braid_fn fn, void *arg,
                           void (*arg_free)(void *));

/* A timer with this deadline became the earliest of its heap: make sure
 * some parked worker wakes for it (worker.c, park protocol step 6). */
void braid__timer_armed(braid_rt *rt, int64_t deadline);

/* trace.c */
void braid__trace_emit(braid__worker *w, uint32_t kind, uint64_t a, uint32_t b);
static inline void braid__trace(braid__worker *w, uint32_t kind, uint64_t a, uint32_t b)
{
#if defined(BRAID_NO_TRACE)
    (void)w, (void)kind, (void)a, (void)b;
#else
    if (__builtin_expect(w->trace != NULL, 0))
        braid__trace_emit(w, kind, a, b);
#endif
}
int braid__trace_write(braid_rt *rt);

/* task.c */
#define LOCAL_FREE_MAX 2048 /* a worker's free list beyond this spills half */
braid_task *braid__task_alloc(braid_rt *rt, braid__worker *w);
void braid__task_free(braid_rt *rt, braid__worker *w, braid_task *t);

/* The spawn and release paths' common cases, inlined: a worker of rt takes
 * from, and gives back to, its own free list. */
static inline braid_task *braid__task_alloc_fast(braid_rt *rt, braid__worker *w)
{
    braid_task *t = w->free;
    if (__builtin_expect(w->rt != rt || t == NULL, 0))
        return braid__task_alloc(rt, w);
    w->free = t->qnext;
    w->nfree--;
    return t;
}

static inline void braid__task_free_fast(braid_rt *rt, braid__worker *w, braid_task *t)
{
    if (__builtin_expect(w == NULL || w->rt != rt || w->nfree >= LOCAL_FREE_MAX ||
                             t->msg != NULL || t->ret < 0 || t->arg_free != NULL, 0)) {
        braid__task_free(rt, w, t);
        return;
    }
    /* Relaxed: see braid__task_free. */
    braid__store_relaxed(&t->state, ST_FREE);
    t->qnext = w->free;
    w->free = t;
    w->nfree++;
}
void braid__task_drop(braid__worker *w, braid_task *t, uintptr_t refs);
void braid__task_complete(braid__worker *w, braid_task *t);
bool braid__task_claim(braid_task *t, bool drop_queue_ref);
bool braid__waiter_add(braid_task *t, braid__waiter *n);
/* List rt's tasks that have not ended on f (braid_rt_shutdown's report). */
void braid__report_live(braid_rt *rt, FILE *f);
void braid__waiter_remove(braid_task *t, braid__waiter *n);
bool braid__take_cancel_slow(braid_task *self);
static inline bool braid__take_cancel(braid_task *self)
{
    /* The common case inline: no request on self and no inline parent.
     * Relaxed: a hint; the slow path's CAS decides. */
    if (!(braid__load_relaxed(&self->state) & F_CANCEL) && braid__parent(self) == NULL)
        return false;
    return braid__take_cancel_slow(self);
}
/* A waiting call that consumed a cancellation but then succeeded anyway (a
 * grant won the race) puts the request back: the next waiting call gets it.
 * Called by the running task on itself. */
void braid__rearm_cancel(braid_task *self);
/* rt.c: wait (never inline) until t is DONE: 0, -ETIMEDOUT, -ECANCELED,
 * -EDEADLK. */
int braid__wait_done(braid__worker *w, braid_task *self, braid_task *t, int64_t deadline);
/* rt.c: status of a DONE task (0 or negative), *result when 0. */
int braid__status_of(braid_task *t, int64_t *result);
void braid__slab_destroy(braid_rt *rt);
void braid__cancel_all(braid_rt *rt);

#endif
