/* wait.c - waiting on several tasks: await with a deadline, wait_for,
 * shield, the completion-order waitset (as_completed), wait and gather.
 *
 * Owns the combinators built on the task waiter lists (task.c) and on
 * braid__park (time.c). A waitset links one waiter node per task; each node
 * carries a hook that the completer calls under the task's WLOCK: it pushes
 * the node on the set's lock-free "done" stack (a Treiber stack: push by CAS,
 * the owner takes all with one exchange) and wakes the owner. The owner
 * reverses what it took, so completions are delivered in the order they
 * happened, O(1) each, however many tasks the set holds.
 *
 * Cancellation follows asyncio: a task cancelled while it awaits another
 * passes the cancellation on (the awaited task is cancelled and awaited);
 * braid_shield does not; a cancelled gather cancels its children.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct braid_waitset {
    braid_task *owner;     /* the task that created the set and waits */
    size_t n;              /* tasks in the set */
    size_t delivered;      /* indices handed out by next() */
    braid__waiter *nodes;  /* one per task */
    braid_task **targets;  /* the tasks, borrowed (the caller keeps them) */
    braid__waiter *ready;  /* taken from `done`, in completion order */
    braid__waiter *ready_tail;
    braid__aword done;     /* Treiber stack of completed nodes */
};

static void ws_hook(braid__waiter *n, braid__worker *w)
{
    braid_waitset *ws = n->ctx;
    uintptr_t head = braid__load_relaxed(&ws->done);
    do
        n->done_next = (braid__waiter *)head;
    /* Release (acq_rel CAS): the owner's exchange (acquire) sees done_next. */
    while (!braid__cas(&ws->done, &head, (uintptr_t)n));
    braid__wake(w, ws->owner);
}

static void ws_ready_push(braid_waitset *ws, braid__waiter *n)
{
    n->done_next = NULL;
    if (ws->ready_tail != NULL)
        ws->ready_tail->done_next = n;
    else
        ws->ready = n;
    ws->ready_tail = n;
}

int braid_waitset_new(braid_waitset **out, braid_task *const *tasks, size_t n)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (tasks == NULL && n != 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (tasks[i] == NULL)
            return -EINVAL;
    braid__worker *w = braid__worker_current();
    if (w == NULL || w->cur == NULL)
        return -EPERM;
    braid_waitset *ws = braid__calloc(1, sizeof *ws);
    braid__waiter *nodes = braid__calloc(n ? n : 1, sizeof *nodes);
    braid_task **targets = braid__malloc((n ? n : 1) * sizeof *targets);
    if (ws == NULL || nodes == NULL || targets == NULL) {
        braid__free(ws);
        braid__free(nodes);
        braid__free(targets);
        return -ENOMEM;
    }
    if (n != 0)
        memcpy(targets, tasks, n * sizeof *targets);
    ws->targets = targets;
    ws->owner = w->cur;
    ws->n = n;
    ws->nodes = nodes;
    braid__store_relaxed(&ws->done, 0);
    for (size_t i = 0; i < n; i++) {
        nodes[i].task = ws->owner;
        nodes[i].hook = ws_hook;
        nodes[i].ctx = ws;
        nodes[i].index = i;
        if (!braid__waiter_add(tasks[i], &nodes[i]))
            ws_ready_push(ws, &nodes[i]); /* already done: first, in input order */
    }
    *out = ws;
    return 0;
}

void braid_waitset_free(braid_waitset *ws)
{
    if (ws == NULL)
        return;
    /* Unlink what is still linked; for the rest, taking each task's WLOCK
     * waits out a completer that may still be inside ws_hook. */
    for (size_t i = 0; i < ws->n; i++)
        braid__waiter_remove(ws->targets[i], &ws->nodes[i]);
    braid__free(ws->nodes);
    braid__free(ws->targets);
    braid__free(ws);
}

/* Move what completers pushed onto the ready list, oldest first. */
static bool ws_collect(braid_waitset *ws)
{
    /* Acquire (acq_rel exchange): pairs with the hooks' release CAS. */
    braid__waiter *n = (braid__waiter *)braid__xchg(&ws->done, 0);
    if (n == NULL)
        return false;
    braid__waiter *rev = NULL;
    while (n != NULL) { /* the stack is newest first: reverse it */
        braid__waiter *next = n->done_next;
        n->done_next = rev;
        rev = n;
        n = next;
    }
    while (rev != NULL) {
        braid__waiter *next = rev->done_next;
        ws_ready_push(ws, rev);
        rev = next;
    }
    return true;
}

int braid_waitset_next(braid_waitset *ws, int64_t deadline, size_t *index)
{
    if (ws == NULL || index == NULL)
        return -EINVAL;
    braid__worker *w = braid__worker_current();
    if (w == NULL || w->cur != ws->owner)
        return -EPERM;
    for (;;) {
        if (ws->ready != NULL || ws_collect(ws)) {
            braid__waiter *n = ws->ready;
            ws->ready = n->done_next;
            if (ws->ready == NULL)
                ws->ready_tail = NULL;
            ws->delivered++;
            *index = n->index;
            return 0;
        }
        if (ws->delivered == ws->n)
            return -ENOENT;
        int err = braid__park(&w, ws->owner, deadline);
        if (err != 0) {
            if (!ws_collect(ws))
                return err;
            if (err == -ECANCELED)
                braid__rearm_cancel(ws->owner); /* a completion won: not lost */
        }
    }
}

int braid_await_until(braid_task *t, int64_t *result, int64_t deadline)
{
    if (t == NULL)
        return -EINVAL;
    braid__worker *w = braid__worker_current();
    if (w == NULL || w->cur == NULL)
        return -EPERM;
    braid_task *self = w->cur;
    if (t == self)
        return -EDEADLK;
    int err = braid__wait_done(w, self, t, deadline);
    if (err == -ECANCELED) {
        /* asyncio: the cancellation passes to the awaited task; wait for it
         * to end and report what it reports. */
        braid_cancel(t);
        w = braid__worker_current();
        err = braid__wait_done(w, self, t, BRAID_FOREVER);
    }
    if (err != 0)
        return err;
    return braid__status_of(t, result);
}

int braid_shield(braid_task *t, int64_t *result)
{
    if (t == NULL)
        return -EINVAL;
    braid__worker *w = braid__worker_current();
    if (w == NULL || w->cur == NULL)
        return -EPERM;
    if (t == w->cur)
        return -EDEADLK;
    int err = braid__wait_done(w, w->cur, t, BRAID_FOREVER);
    return err != 0 ? err : braid__status_of(t, result);
}

int braid_wait_for(braid_task *t, int64_t timeout, int64_t *result)
{
    int64_t now = braid_now();
    int64_t deadline = timeout <= 0 ? now : (timeout > INT64_MAX - now ? INT64_MAX : now + timeout);
    if (t == NULL)
        return -EINVAL;
    braid__worker *w = braid__worker_current();
    if (w == NULL || w->cur == NULL)
        return -EPERM;
    braid_task *self = w->cur;
    if (t == self)
        return -EDEADLK;
    int err = braid__wait_done(w, self, t, deadline);
    if (err == -ETIMEDOUT || err == -ECANCELED) {
        /* asyncio.wait_for: on timeout the task is cancelled and awaited. */
        braid_cancel(t);
        w = braid__worker_current();
        int err2 = braid__wait_done(w, self, t, BRAID_FOREVER);
        if (err2 != 0)
            return err2;
        if (err == -ECANCELED)
            return braid__status_of(t, result);
        /* A task that finished anyway after all keeps its result. */
        int st = braid__status_of(t, result);
        return st == -ECANCELED ? -ETIMEDOUT : st;
    }
    if (err != 0)
        return err;
    return braid__status_of(t, result);
}

int braid_wait(braid_task *const *tasks, size_t n, int mode, int64_t deadline, size_t *ndone)
{
    if (ndone != NULL)
        *ndone = 0;
    if (mode != BRAID_WAIT_ALL && mode != BRAID_WAIT_FIRST_COMPLETED &&
        mode != BRAID_WAIT_FIRST_ERROR)
        return -EINVAL;
    braid_waitset *ws;
    int err = braid_waitset_new(&ws, tasks, n);
    if (err != 0)
        return err;
    size_t done = 0, idx;
    err = 0;
    while (done < n) {
        err = braid_waitset_next(ws, deadline, &idx);
        if (err != 0)
            break;
        done++;
        if (mode == BRAID_WAIT_FIRST_COMPLETED)
            break;
        if (mode == BRAID_WAIT_FIRST_ERROR && braid__status_of(tasks[idx], NULL) != 0)
            break;
    }
    braid_waitset_free(ws);
    if (ndone != NULL)
        *ndone = done;
    return err;
}

int braid_gather(braid_task *const *tasks, size_t n, int64_t *results, int *statuses, unsigned flags)
{
    if ((tasks == NULL && n != 0) || (flags & ~(unsigned)BRAID_GATHER_RETURN_ERRORS) != 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (tasks[i] == NULL)
            return -EINVAL;
        if (statuses != NULL)
            statuses[i] = -EINPROGRESS;
    }
    braid_waitset *ws;
    int err = braid_waitset_new(&ws, tasks, n);
    if (err != 0)
        return err;
    int first_error = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i;
        err = braid_waitset_next(ws, BRAID_FOREVER, &i);
        if (err != 0)
            break;
        int64_t r = 0;
        int st = braid__status_of(tasks[i], &r);
        if (statuses != NULL)
            statuses[i] = st;
        if (results != NULL && st == 0)
            results[i] = r;
        if (st != 0 && first_error == 0) {
            first_error = st;
            if (!(flags & BRAID_GATHER_RETURN_ERRORS))
                break; /* asyncio: the first error propagates at once */
        }
    }
    braid_waitset_free(ws);
    if (err == -ECANCELED) { /* a cancelled gather cancels its children */
        for (size_t i = 0; i < n; i++)
            braid_cancel(tasks[i]);
        return err;
    }
    if (err != 0)
        return err;
    return (flags & BRAID_GATHER_RETURN_ERRORS) ? 0 : first_error;
}

