/* time.c - braid_now, sleep, and braid__park, the one way a task waits
 * with a deadline: arm a timer on the current worker's heap, suspend,
 * disarm on the way out.
 *
 * A sleeper's timer node lives on its own stack. The heap it was armed on
 * (that of the worker it slept on) fires it, or another idle worker does
 * (worker.c, park protocol step 6). Whoever fires marks the node under the
 * heap's lock and wakes the task while still holding it; a sleeper woken by
 * a cancellation takes the same lock to disarm the node, so the node is
 * never touched after the sleeper leaves.
 */
#include <errno.h>
#include <stdlib.h>

#include "futex.h"
#include "internal.h"

int64_t braid_now(void)
{
    return braid__clock_ns();
}

int braid__park(braid__worker **wp, braid_task *self, int64_t deadline)
{
    braid__worker *w = *wp;
    if (braid__parent(self) != NULL) {
        /* We run inline on an ancestor's stack: link the chain so that a
         * cancel of any ancestor finds us (braid_cancel). Relaxed stores,
         * then a seq_cst fence paired with the canceller's CAS on the
         * ancestor's state: either it sees the links, or our take_cancel
         * below sees its flag. */
        for (braid_task *c = self; braid__parent(c) != NULL; c = braid__parent(c))
            braid__store_relaxed(&braid__parent(c)->inline_child, (uintptr_t)c);
        braid__fence_seqcst();
    }
    if (braid__take_cancel(self))
        return -ECANCELED;
    braid__timer tm = {.deadline = deadline, .slot = BRAID__TIMER_NONE, .data = self};
    braid__timer_heap *h = NULL;
    if (deadline != BRAID_FOREVER) {
        /* No clock read here: a deadline already past fires at the next
         * check of the heap, and callers check it when it is cheap. */
        h = &w->timers;
        pthread_mutex_lock(&h->lock);
        int err = braid__timer_add(h, &tm); /* 1: now the earliest */
        pthread_mutex_unlock(&h->lock);
        if (err < 0)
            return err;
        if (err == 1)
            braid__timer_armed(w->rt, deadline);
    }
    braid__suspend(w, self, ACT_WAIT);
    *wp = braid__worker_current();
    bool fired = false;
    /* Acquire: pairs with the firer's release store; 1 means the node is
     * out of the heap and nobody touches it any more: no lock needed. */
    if (h != NULL && !(fired = braid__load32_acquire(&tm.fired))) {
        pthread_mutex_lock(&h->lock);
        fired = braid__load32_acquire(&tm.fired);
        if (!fired)
            braid__timer_remove(h, &tm);
        pthread_mutex_unlock(&h->lock);
    }
    if (braid__take_cancel(self))
        return -ECANCELED;
    return fired ? -ETIMEDOUT : 0;
}

static int sleep_until(int64_t deadline, int64_t now)
{
    braid__worker *w = braid__worker_current();
    if (w == NULL || w->cur == NULL)
        return -EPERM;
    braid_task *self = w->cur;
    if (deadline <= now)
        return braid_yield(); /* asyncio.sleep(0) */
    for (;;) {
        int err = braid__park(&w, self, deadline);
        if (err == -ETIMEDOUT)
            return 0; /* the sleep is over */
        if (err != 0)
            return err;
        /* woken by a stray notification: sleep on */
    }
}

int braid_sleep_until(int64_t deadline)
{
    return sleep_until(deadline, braid__clock_ns());
}

int braid_sleep(int64_t ns)
{
    if (ns <= 0)
        return sleep_until(INT64_MIN, 0); /* the yield path, or -EPERM */
    int64_t now = braid__clock_ns();
    return sleep_until(ns > INT64_MAX - now ? INT64_MAX : now + ns, now);
}

/* ---- plain callbacks on the loop (call_soon / call_later) --------------- */

typedef struct callback {
    void (*fn)(void *arg);
    void *arg;
    int64_t deadline; /* INT64_MIN: as soon as possible */
} callback;

/* The record belongs to the task (braid__rt_spawn_owning): freed with it,
 * also when it is cancelled before it runs. */
static int64_t run_callback(void *arg)
{
    callback c = *(callback *)arg;
    if (c.deadline != INT64_MIN) {
        int err = braid_sleep_until(c.deadline);
        if (err != 0)
            return err; /* cancelled (the handle's owner, or shutdown) */
    }
    c.fn(c.arg);
    return 0;
}

static int schedule(braid_rt *rt, braid_task **out, void (*fn)(void *), void *arg, int64_t deadline)
{
    if (out != NULL)
        *out = NULL;
    if (rt == NULL || fn == NULL)
        return -EINVAL;
    /* One small allocation per callback: this is not a hot path. */
    callback *c = braid__malloc(sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->fn = fn;
    c->arg = arg;
    c->deadline = deadline;
    int err = braid__rt_spawn_owning(rt, out, run_callback, c, braid__free);
    if (err != 0)
        braid__free(c);
    return err;
}

int braid_call_soon(braid_rt *rt, braid_task **out, void (*fn)(void *arg), void *arg)
{
    return schedule(rt, out, fn, arg, INT64_MIN);
}

int braid_call_later(braid_rt *rt, braid_task **out, int64_t delay, void (*fn)(void *arg), void *arg)
{
    int64_t now = braid__clock_ns();
    int64_t d = delay <= 0 ? now : (delay > INT64_MAX - now ? INT64_MAX : now + delay);
    return schedule(rt, out, fn, arg, d);
}
