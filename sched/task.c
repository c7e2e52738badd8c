/* task.c - the task object: memory, claim, completion, waiters, cancel.
 *
 * Owns every transition of the task state word described in internal.h,
 * and the slab of task objects. Does not decide where a woken task runs
 * (worker.c: braid__wake) nor run bodies.
 *
 * Memory: tasks are carved from chunks of CHUNK_TASKS objects that live
 * until the runtime is freed. Each worker keeps a private free list; a
 * worker that frees more than it allocates hands half of a long list to the
 * shared list under slab_lock, and a worker that runs dry takes a batch from
 * it (or a new chunk). So a warm spawn path takes no lock and calls no
 * malloc, and threads that are not workers use the shared list.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "futex.h"
#include "internal.h"

#define CHUNK_TASKS 256
#define REFILL_BATCH 128

typedef struct chunk {
    struct chunk *next;
    _Alignas(BRAID__CACHELINE) braid_task tasks[CHUNK_TASKS];
} chunk;

/* With slab_lock held: a fresh chunk, its tasks strung on a list. */
static braid_task *chunk_new(braid_rt *rt, braid_task **tail, size_t *n)
{
    chunk *c = braid__aligned_alloc(BRAID__CACHELINE, sizeof(chunk));
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof(*c)); /* state 0 is ST_FREE */
    c->next = rt->chunks;
    rt->chunks = c;
    for (size_t i = 0; i + 1 < CHUNK_TASKS; i++) {
        c->tasks[i].qnext = &c->tasks[i + 1];
        c->tasks[i].rt = rt;
    }
    c->tasks[CHUNK_TASKS - 1].rt = rt;
    c->tasks[CHUNK_TASKS - 1].qnext = NULL;
    *tail = &c->tasks[CHUNK_TASKS - 1];
    *n = CHUNK_TASKS;
    return &c->tasks[0];
}

static void refill(braid_rt *rt, braid__worker *w)
{
    pthread_mutex_lock(&rt->slab_lock);
    if (rt->gfree != NULL) {
        /* O(batch) walk under the lock, once per REFILL_BATCH spawns. */
        braid_task *head = rt->gfree, *t = head;
        unsigned n = 1;
        while (n < REFILL_BATCH && t->qnext != NULL) {
            t = t->qnext;
            n++;
        }
        rt->gfree = t->qnext;
        rt->ngfree -= n;
        t->qnext = w->free;
        w->free = head;
        w->nfree += n;
    } else {
        braid_task *tail;
        size_t n;
        braid_task *head = chunk_new(rt, &tail, &n);
        if (head != NULL) {
            tail->qnext = w->free;
            w->free = head;
            w->nfree += (unsigned)n;
        }
    }
    pthread_mutex_unlock(&rt->slab_lock);
}

braid_task *braid__task_alloc(braid_rt *rt, braid__worker *w)
{
    braid_task *t;
    if (w != NULL && w->rt == rt) {
        if (w->free == NULL)
            refill(rt, w);
        t = w->free;
        if (t == NULL)
            return NULL;
        w->free = t->qnext;
        w->nfree--;
        return t;
    }
    pthread_mutex_lock(&rt->slab_lock);
    if (rt->gfree == NULL) {
        braid_task *tail;
        size_t n;
        braid_task *head = chunk_new(rt, &tail, &n);
        if (head != NULL) {
            rt->gfree = head;
            rt->ngfree = n;
        }
    }
    t = rt->gfree;
    if (t != NULL) {
        rt->gfree = t->qnext;
        rt->ngfree--;
    }
    pthread_mutex_unlock(&rt->slab_lock);
    return t;
}

/* asyncio's "Task exception was never retrieved": a task that failed and
 * whose status nobody looked at is reported when its memory is reused. */
static void report_unretrieved(braid_task *t)
{
    int err = t->ret < INT_MIN ? INT_MIN : (int)t->ret;
    fprintf(stderr, "braid: task %p (body %p) failed with %d (%s)%s%s, and nobody awaited it\n",
            (void *)t, (void *)(uintptr_t)t->fn, err, braid_strerror(err), t->msg ? ": " : "",
            t->msg ? t->msg : "");
}

static void free_spill(braid_rt *rt, braid__worker *w)
{
    {
        /* Hand the older half to the shared list. */
        braid_task *keep_tail = w->free;
        for (unsigned i = 1; i < LOCAL_FREE_MAX / 2; i++)
            keep_tail = keep_tail->qnext;
        braid_task *give = keep_tail->qnext, *give_tail = give;
        size_t n = 1;
        while (give_tail->qnext != NULL) {
            give_tail = give_tail->qnext;
            n++;
        }
        keep_tail->qnext = NULL;
        w->nfree -= (unsigned)n;
        pthread_mutex_lock(&rt->slab_lock);
        give_tail->qnext = rt->gfree;
        rt->gfree = give;
        rt->ngfree += n;
        pthread_mutex_unlock(&rt->slab_lock);
    }
}

void braid__task_free(braid_rt *rt, braid__worker *w, braid_task *t)
{
    /* Invariants of a free task, kept by whoever ended it: stack NULL,
     * waiters NULL, rt set (for life). Relaxed store of FREE: no queue names
     * the task any more (its queue reference is gone); only the shutdown
     * sweep still reads the word, and it skips FREE and DONE alike. */
    if ((braid__load_relaxed(&t->state) & ST_MASK) == ST_DONE && t->ret < 0 &&
        t->ret != -ECANCELED && !braid__load32_acquire(&t->retrieved))
        report_unretrieved(t);
    braid__store_relaxed(&t->state, ST_FREE);
    if (t->msg != NULL) {
        braid__free(t->msg);
        t->msg = NULL;
    }
    if (__builtin_expect(t->arg_free != NULL, 0)) {
        t->arg_free(t->arg);
        t->arg_free = NULL;
    }
    if (w != NULL && w->rt == rt) {
        t->qnext = w->free;
        w->free = t;
        if (__builtin_expect(++w->nfree > LOCAL_FREE_MAX, 0))
            free_spill(rt, w);
        return;
    }
    pthread_mutex_lock(&rt->slab_lock);
    t->qnext = rt->gfree;
    rt->gfree = t;
    rt->ngfree++;
    pthread_mutex_unlock(&rt->slab_lock);
}

void braid__task_drop(braid__worker *w, braid_task *t, uintptr_t refs)
{
    /* Acq_rel: the release orders our uses of the task before the free that
     * another dropper may do; the acquire makes the last dropper see every
     * other owner's uses before it frees. */
    uintptr_t old = braid__fetch_add(&t->state, (uintptr_t)0 - refs * REF_ONE);
    if (REFS(old) == refs)
        braid__task_free(t->rt, w, t);
}

bool braid__task_claim(braid_task *t, bool drop_queue_ref)
{
    /* Relaxed first read: the CAS below re-validates it. */
    uintptr_t st = braid__load_relaxed(&t->state);
    while ((st & ST_MASK) == ST_IDLE) {
        uintptr_t nw = (st & ~ST_MASK) | ST_RUNNING;
        if (drop_queue_ref)
            nw -= REF_ONE; /* never the last: the lifecycle ref remains */
        /* Acq_rel CAS: acquire pairs with the spawner's release store of
         * IDLE, so fn and arg are visible; exactly one claimer wins. */
        if (braid__cas(&t->state, &st, nw))
            return true;
    }
    return false;
}

/* Lock t's waiter list unless t is DONE and stop_if_done. Returns the state
 * seen with the lock taken (WLOCK set), or 0 if t was DONE and we stopped. */
static uintptr_t wlock(braid_task *t, bool stop_if_done)
{
    /* Relaxed reads while spinning: the CAS below decides. */
    uintptr_t st = braid__load_relaxed(&t->state);
    for (;;) {
        if (stop_if_done && (st & ST_MASK) == ST_DONE)
            return 0;
        if (st & F_WLOCK) {
            braid__cpu_relax();
            st = braid__load_relaxed(&t->state);
            continue;
        }
        /* Acq_rel CAS: acquire orders our list reads after the previous
         * holder's writes (released by its unlock). */
        if (braid__cas(&t->state, &st, st | F_WLOCK))
            return st | F_WLOCK;
    }
}

/* Unlock, setting and clearing flags, and dropping `drop` references.
 * Returns the state before the unlock. */
static uintptr_t wunlock(braid_task *t, uintptr_t set, uintptr_t clear, uintptr_t drop)
{
    /* Relaxed: a first guess for the CAS loop. */
    uintptr_t st = braid__load_relaxed(&t->state);
    for (;;) {
        uintptr_t nw = ((st & ~(clear | F_WLOCK)) | set) - drop * REF_ONE;
        /* Release (in the acq_rel CAS): publishes our list writes to the
         * next holder. */
        if (braid__cas(&t->state, &st, nw))
            return st;
    }
}

bool braid__waiter_add(braid_task *t, braid__waiter *n)
{
    if (wlock(t, true) == 0)
        return false;
    n->prev = NULL;
    n->next = t->waiters;
    if (t->waiters != NULL)
        t->waiters->prev = n;
    t->waiters = n;
    n->linked = true;
    wunlock(t, F_WAITERS, 0, 0);
    return true;
}

void braid__waiter_remove(braid_task *t, braid__waiter *n)
{
    wlock(t, false);
    if (n->linked) {
        if (n->prev != NULL)
            n->prev->next = n->next;
        else
            t->waiters = n->next;
        if (n->next != NULL)
            n->next->prev = n->prev;
        n->linked = false;
    }
    wunlock(t, 0, t->waiters == NULL ? F_WAITERS : 0, 0);
}

void braid__task_complete(braid__worker *w, braid_task *t)
{
    /* (Relaxed first read of the state below: the CAS loop re-validates.) */
    /* Relaxed load and store: only this worker writes its counter. */
    braid__inc_owned(&w->n_completed); /* only w writes it */
    uintptr_t st = braid__load_relaxed(&t->state);
    uintptr_t nw;
    for (;;) {
        if (st & F_WLOCK) { /* a waiter is linking itself: it is quick */
            braid__cpu_relax();
            st = braid__load_relaxed(&t->state);
            continue;
        }
        if (st & F_WAITERS) /* keep the lifecycle ref until the wakes are done */
            nw = (st & ~(ST_MASK | F_NOTIFIED)) | ST_DONE | F_WLOCK;
        else
            nw = ((st & ~(ST_MASK | F_NOTIFIED)) | ST_DONE) - REF_ONE;
        /* Release (acq_rel CAS): publishes t->ret to whoever acquires DONE. */
        if (braid__cas(&t->state, &st, nw))
            break;
    }
    if (!(st & F_WAITERS)) {
        if (REFS(st) == 1)
            braid__task_free(t->rt, w, t);
        return;
    }
    /* We hold WLOCK: wake every waiter. Read next before the wake: a woken
     * thread waiter may return and end the node's life at once. */
    braid__waiter *n = t->waiters;
    t->waiters = NULL;
    while (n != NULL) {
        braid__waiter *next = n->next;
        braid_task *wt = n->task;
        n->linked = false;
        if (n->hook != NULL) {
            n->hook(n, w);
        } else if (wt != NULL) {
            braid__wake(w, wt);
        } else {
            /* Release: the thread's acquire load of futex sees DONE and ret. */
            braid__store32_release(&n->futex, 1);
            braid__futex_wake(&n->futex, 1);
        }
        n = next;
    }
    uintptr_t old = wunlock(t, 0, F_WAITERS, 1);
    if (REFS(old) == 1)
        braid__task_free(t->rt, w, t);
}

bool braid__take_cancel_slow(braid_task *self)
{
    /* A cancel of a task that is running us inline is delivered to us: we
     * are what it is waiting for (asyncio cancels the awaited task). */
    for (braid_task *t = self; t != NULL; t = braid__parent(t)) {
        /* Relaxed: a hint; the CAS below decides. */
        uintptr_t st = braid__load_relaxed(&t->state);
        while (st & F_CANCEL) {
            /* Acq_rel CAS: delivers the request exactly once. */
            if (braid__cas(&t->state, &st, st & ~F_CANCEL))
                return true;
        }
    }
    return false;
}

void braid__rearm_cancel(braid_task *self)
{
    /* Relaxed first read; acq_rel CAS: the request is pending again. */
    uintptr_t st = braid__load_relaxed(&self->state);
    while (!(st & F_CANCEL) && !braid__cas(&self->state, &st, st | F_CANCEL))
        ;
}

int braid_cancel(braid_task *t)
{
    if (t == NULL)
        return -EINVAL;
    /* Relaxed: a first guess for the CAS loop below. */
    uintptr_t st = braid__load_relaxed(&t->state), s;
    for (;;) {
        s = st & ST_MASK;
        if (s == ST_DONE || s == ST_FREE)
            return 0;
        if (st & F_CANCEL)
            return 1;
        uintptr_t nw = st | F_CANCEL;
        if (s == ST_RUNNING) /* it may be switching out to wait: re-queue it */
            nw |= F_NOTIFIED;
        else if (s == ST_SUSPENDED)
            nw = (nw & ~ST_MASK) | ST_RUNNING; /* woken: we queue it */
        /* Acq_rel CAS: the flag and the wake are one step, so a task that
         * suspends concurrently either sees CANCEL/NOTIFIED or is woken. */
        if (braid__cas(&t->state, &st, nw))
            break;
    }
    if (s == ST_SUSPENDED) {
        braid__worker *w = braid__worker_current();
        if (w != NULL && w->rt == t->rt) {
            braid__wake_ready(w, t);
        } else {
            braid__inject(t->rt, (uintptr_t)t | ENTRY_RESUME);
        }
    } else if (s == ST_RUNNING) {
        /* It may be running, inline on its stack, a task it awaits that
         * now waits: only that innermost task can wake, and its waiting
         * call reports our flag (braid__take_cancel walks the parents).
         * Seq_cst fence after our CAS, paired with the one in braid__park:
         * either we see its links or it sees our flag. Relaxed loads: a
         * stale link wakes a stray task, which sleeps on (bounded walk). */
        braid__fence_seqcst();
        braid_task *c = t, *next;
        for (int depth = 0; depth < 1024; depth++) {
            next = (braid_task *)braid__load_relaxed(&c->inline_child);
            if (next == NULL || braid__parent(next) != c) /* none, or a link from the past */
                break;
            c = next;
        }
        if (c != t)
            braid__wake(braid__worker_current(), c);
    }
    return 1;
}

void braid__cancel_all(braid_rt *rt)
{
    pthread_mutex_lock(&rt->slab_lock);
    for (chunk *c = rt->chunks; c != NULL; c = c->next) {
        for (size_t i = 0; i < CHUNK_TASKS; i++) {
            braid_task *t = &c->tasks[i];
            /* Relaxed: a sweep; braid_cancel re-checks with its CAS and
             * ignores FREE and DONE tasks. A task freed and reused between
             * the two is a live task of this runtime: cancelling it is what
             * shutdown wants anyway. */
            uintptr_t s = braid__load_relaxed(&t->state) & ST_MASK;
            if (s != ST_FREE && s != ST_DONE)
                braid_cancel(t);
        }
    }
    pthread_mutex_unlock(&rt->slab_lock);
}

void braid__report_live(braid_rt *rt, FILE *f)
{
    static const char *names[] = {"free", "idle (not started)", "running",
                                  "suspended (waiting)", "(unused)", "done"};
    size_t n = 0;
    pthread_mutex_lock(&rt->slab_lock);
    for (chunk *c = rt->chunks; c != NULL; c = c->next) {
        for (size_t i = 0; i < CHUNK_TASKS; i++) {
            braid_task *t = &c->tasks[i];
            /* Relaxed: a report; states may move while we print. */
            uintptr_t s = braid__load_relaxed(&t->state) & ST_MASK;
            if (s == ST_FREE || s == ST_DONE)
                continue;
            /* The function: its name if the dynamic symbol table has it,
             * and always object+offset, for addr2line. */
            Dl_info di;
            const char *name = "?", *obj = "?";
            uintptr_t off = (uintptr_t)t->fn;
            if (dladdr((void *)(uintptr_t)t->fn, &di) != 0) {
                if (di.dli_sname != NULL)
                    name = di.dli_sname;
                if (di.dli_fname != NULL) {
                    obj = strrchr(di.dli_fname, '/') ? strrchr(di.dli_fname, '/') + 1 : di.dli_fname;
                    off -= (uintptr_t)di.dli_fbase;
                }
            }
            fprintf(f,
                    "braid: still running at the shutdown deadline: task %p, function %s at %p "
                    "(%s+0x%" PRIxPTR "), %s\n",
                    (void *)t, name, (void *)(uintptr_t)t->fn, obj, off,
                    s < sizeof names / sizeof *names ? names[s] : "?");
            n++;
        }
    }
    pthread_mutex_unlock(&rt->slab_lock);
    fprintf(f, "braid: %zu task%s still running\n", n, n == 1 ? "" : "s");
}

void braid__slab_destroy(braid_rt *rt)
{
    chunk *c = rt->chunks;
    while (c != NULL) {
        chunk *next = c->next;
        braid__aligned_free(c);
        c = next;
    }
    rt->chunks = NULL;
    rt->gfree = NULL;
    rt->ngfree = 0;
}

int braid_fail(int err, const char *fmt, ...)
{
    if (err >= 0)
        err = -EINVAL;
    braid__worker *w = braid__worker_current();
    braid_task *self = w != NULL ? w->cur : NULL;
    if (self == NULL || fmt == NULL)
        return err;
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL; /* out of memory: the status alone still reports it */
    va_end(ap);
    braid__free(self->msg);
    self->msg = msg;
    return err;
}

const char *braid_task_message(braid_task *t)
{
    return t != NULL ? t->msg : NULL;
}
