/* sync.c - coroutine-aware synchronisation: event, mutex, semaphore,
 * condition, barrier, channel, future.
 *
 * Owns the wait queues of these objects. Waiting suspends the coroutine,
 * never the worker thread (futures can also be waited for by plain threads).
 * Every object has a spin lock (spin.h) held for a few instructions; a waiter
 * queues a node on its own stack, drops the lock and parks (braid__park:
 * deadline and cancellation included). A waker, with the lock held,
 * unlinks the node, records the outcome in it (`done`, `result`, `value`)
 * and wakes the task. Because the waker holds the lock while it touches the
 * node, and a waiter that wakes for another reason (deadline, cancel) must
 * take the lock to unlink itself, a node is never touched after its owner
 * left. When a grant and a timeout or cancel race, the grant wins: the
 * caller got the lock / permit / value and the call returns success.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "futex.h"
#include "internal.h"
#include "spin.h"

typedef struct qnode {
    struct qnode *next, *prev;
    braid_task *task; /* NULL: a plain thread, woken through futex */
    braid__a32 futex;
    braid__a32 done;  /* 1: the waker decided this waiter's outcome */
    int result;       /* 0, or why (e.g. -EPIPE: the channel closed) */
    intptr_t value;   /* channels: the value handed over */
} qnode;

typedef struct waitq {
    qnode *head, *tail;
} waitq;

static void q_push(waitq *q, qnode *n)
{
    n->next = NULL;
    n->prev = q->tail;
    if (q->tail != NULL)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
}

static void q_unlink(waitq *q, qnode *n)
{
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        q->head = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
    else
        q->tail = n->prev;
    n->next = n->prev = NULL;
}

/* With the object's lock held: decide n's outcome, unlink it, wake it. */
static void q_grant(waitq *q, qnode *n, int result)
{
    q_unlink(q, n);
    n->result = result;
    braid_task *t = n->task;
    if (t != NULL) {
        /* Not worker_here: inlined after a switch it could be stale. */
        braid__wake(braid__worker_current(), t);
        /* Release, and after the wake: a waiter that reads 1 without the
         * lock (q_wait's fast exit) sees result and value, and knows we
         * touch neither its node nor its task again. One that reads 0
         * takes the lock, which we hold until we are done. */
        braid__store32_release(&n->done, 1);
    } else {
        braid__store32_release(&n->done, 1); /* release: as above */
        /* Release: the thread's acquire load sees done/result/value. */
        braid__store32_release(&n->futex, 1);
        braid__futex_wake(&n->futex, 1);
    }
}

static void q_grant_all(waitq *q, int result)
{
    while (q->head != NULL)
        q_grant(q, q->head, result);
}

/* With *m held: queue n on q and wait for a grant, the deadline or a
 * cancellation. Returns n->result if granted, else the error; with *m
 * held if keep_lock, else released. Coroutines park; other threads block
 * on a futex (deadline only). A coroutine woken by its grant leaves
 * without taking the lock again (keep_lock false): one lock round trip
 * less per hand-off. */
static inline int q_wait_(braid__spin *m, waitq *q, qnode *n, int64_t deadline, bool keep_lock)
{
    braid__worker *w = braid__worker_current();
    braid__store32_release(&n->done, 0); /* release: nobody reads it yet; cheap */
    n->result = 0;
    n->task = (w != NULL) ? w->cur : NULL;
    braid__store32_release(&n->futex, 0);
    q_push(q, n);
    int err;
    for (;;) {
        err = 0;
        braid__spin_unlock(m);
        if (n->task != NULL) {
            err = braid__park(&w, n->task, deadline);
            /* Acquire: pairs with q_grant's release store. */
            if (err == 0 && !keep_lock && braid__load32_acquire(&n->done))
                return n->result;
        } else {
            braid__futex_wait_until(&n->futex, 0, deadline);
            if (braid__load32_acquire(&n->futex) == 0 && braid__clock_ns() >= deadline)
                err = -ETIMEDOUT;
        }
        braid__spin_lock(m);
        /* Acquire (under the lock, for the fence-free reader's sake). */
        if (braid__load32_acquire(&n->done)) { /* a grant wins over a timeout or cancel */
            if (err == -ECANCELED)
                braid__rearm_cancel(n->task); /* not lost: the next wait gets it */
            err = n->result;
            break;
        }
        if (err != 0) {
            q_unlink(q, n);
            break;
        }
    }
    if (!keep_lock)
        braid__spin_unlock(m);
    return err;
}

/* Returns with *m held. */
static int q_wait(braid__spin *m, waitq *q, qnode *n, int64_t deadline)
{
    return q_wait_(m, q, n, deadline, true);
}

/* Returns with *m released. */
static int q_wait_unlock(braid__spin *m, waitq *q, qnode *n, int64_t deadline)
{
    return q_wait_(m, q, n, deadline, false);
}

static int need_coroutine(void)
{
    braid__worker *w = braid__worker_current();
    return (w != NULL && w->cur != NULL) ? 0 : -EPERM;
}

/* ---- event ------------------------------------------------------------ */

struct braid_event {
    braid__spin m;
    bool set;
    waitq q;
};

int braid_event_new(braid_event **out)
{
    if (out == NULL)
        return -EINVAL;
    braid_event *e = braid__calloc(1, sizeof *e);
    if (e == NULL)
        return -ENOMEM;
    braid__spin_init(&e->m);
    *out = e;
    return 0;
}

void braid_event_free(braid_event *e)
{
    if (e == NULL)
        return;
    braid__free(e);
}

int braid_event_set(braid_event *e)
{
    if (e == NULL)
        return -EINVAL;
    braid__spin_lock(&e->m);
    e->set = true;
    q_grant_all(&e->q, 0);
    braid__spin_unlock(&e->m);
    return 0;
}

int braid_event_clear(braid_event *e)
{
    if (e == NULL)
        return -EINVAL;
    braid__spin_lock(&e->m);
    e->set = false;
    braid__spin_unlock(&e->m);
    return 0;
}

int braid_event_is_set(braid_event *e)
{
    if (e == NULL)
        return -EINVAL;
    braid__spin_lock(&e->m);
    int s = e->set;
    braid__spin_unlock(&e->m);
    return s;
}

int braid_event_wait_until(braid_event *e, int64_t deadline)
{
    if (e == NULL)
        return -EINVAL;
    int err = need_coroutine();
    if (err != 0)
        return err;
    braid__spin_lock(&e->m);
    qnode n;
    if (!e->set)
        return q_wait_unlock(&e->m, &e->q, &n, deadline);
    braid__spin_unlock(&e->m);
    return err;
}

int braid_event_wait(braid_event *e)
{
    return braid_event_wait_until(e, BRAID_FOREVER);
}

/* ---- mutex (ownership handed to the first waiter: FIFO, no barging) --- */

struct braid_mutex {
    braid__spin m;
    braid_task *owner;
    waitq q;
};

int braid_mutex_new(braid_mutex **out)
{
    if (out == NULL)
        return -EINVAL;
    braid_mutex *x = braid__calloc(1, sizeof *x);
    if (x == NULL)
        return -ENOMEM;
    braid__spin_init(&x->m);
    *out = x;
    return 0;
}

void braid_mutex_free(braid_mutex *x)
{
    if (x == NULL)
        return;
    braid__free(x);
}

int braid_mutex_lock_until(braid_mutex *x, int64_t deadline)
{
    if (x == NULL)
        return -EINVAL;
    int err = need_coroutine();
    if (err != 0)
        return err;
    braid_task *self = braid__worker_current()->cur;
    braid__spin_lock(&x->m);
    if (x->owner == NULL) {
        x->owner = self;
    } else if (x->owner == self) {
        err = -EDEADLK;
    } else {
        qnode n;
        return q_wait_unlock(&x->m, &x->q, &n, deadline); /* granted: we own it */
    }
    braid__spin_unlock(&x->m);
    return err;
}

int braid_mutex_lock(braid_mutex *x)
{
    return braid_mutex_lock_until(x, BRAID_FOREVER);
}

int braid_mutex_trylock(braid_mutex *x)
{
    if (x == NULL)
        return -EINVAL;
    int err = need_coroutine();
    if (err != 0)
        return err;
    braid__spin_lock(&x->m);
    if (x->owner == NULL)
        x->owner = braid__worker_current()->cur;
    else
        err = -EBUSY;
    braid__spin_unlock(&x->m);
    return err;
}

int braid_mutex_unlock(braid_mutex *x)
{
    if (x == NULL)
        return -EINVAL;
    braid__worker *w = braid__worker_current();
    braid_task *self = w != NULL ? w->cur : NULL;
    braid__spin_lock(&x->m);
    int err = 0;
    if (self == NULL || x->owner != self) {
        err = -EPERM;
    } else if (x->q.head != NULL) {
        x->owner = x->q.head->task;
        q_grant(&x->q, x->q.head, 0);
    } else {
        x->owner = NULL;
    }
    braid__spin_unlock(&x->m);
    return err;
}

/* ---- semaphore -------------------------------------------------------- */

struct braid_sem {
    braid__spin m;
    long count;
    long max; /* 0: unbounded */
    waitq q;
};

int braid_sem_new(braid_sem **out, long initial, long max)
{
    if (out == NULL || initial < 0 || max < 0 || (max != 0 && initial > max))
        return -EINVAL;
    braid_sem *s = braid__calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    braid__spin_init(&s->m);
    s->count = initial;
    s->max = max;
    *out = s;
    return 0;
}

void braid_sem_free(braid_sem *s)
{
    if (s == NULL)
        return;
    braid__free(s);
}

int braid_sem_acquire_until(braid_sem *s, int64_t deadline)
{
    if (s == NULL)
        return -EINVAL;
    int err = need_coroutine();
    if (err != 0)
        return err;
    braid__spin_lock(&s->m);
    if (s->count > 0 && s->q.head == NULL) {
        s->count--;
    } else {
        qnode n;
        return q_wait_unlock(&s->m, &s->q, &n, deadline); /* granted: a permit */
    }
    braid__spin_unlock(&s->m);
    return err;
}

int braid_sem_acquire(braid_sem *s)
{
    return braid_sem_acquire_until(s, BRAID_FOREVER);
}

int braid_sem_release(braid_sem *s)
{
    if (s == NULL)
        return -EINVAL;
    int err = 0;
    braid__spin_lock(&s->m);
    if (s->q.head != NULL)
        q_grant(&s->q, s->q.head, 0); /* the permit goes straight to it */
    else if (s->max != 0 && s->count >= s->max)
        err = -EOVERFLOW; /* asyncio.BoundedSemaphore: released too often */
    else
        s->count++;
    braid__spin_unlock(&s->m);
    return err;
}

long braid_sem_value(braid_sem *s)
{
    if (s == NULL)
        return -EINVAL;
    braid__spin_lock(&s->m);
    long v = s->count;
    braid__spin_unlock(&s->m);
    return v;
}

/* ---- condition (with a braid_mutex) ----------------------------------- */

struct braid_cond {
    braid__spin m;
    waitq q;
};

int braid_cond_new(braid_cond **out)
{
    if (out == NULL)
        return -EINVAL;
    braid_cond *c = braid__calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    braid__spin_init(&c->m);
    *out = c;
    return 0;
}

void braid_cond_free(braid_cond *c)
{
    if (c == NULL)
        return;
    braid__free(c);
}

int braid_cond_wait_until(braid_cond *c, braid_mutex *x, int64_t deadline)
{
    if (c == NULL || x == NULL)
        return -EINVAL;
    int err = need_coroutine();
    if (err != 0)
        return err;
    /* Queue first, then release the mutex: a notify that follows our unlock
     * finds us queued. */
    braid__spin_lock(&c->m);
    qnode n;
    n.task = braid__worker_current()->cur;
    braid__store32_release(&n.done, 0); /* release: not yet shared; cheap */
    n.result = 0;
    q_push(&c->q, &n);
    /* Lock order: a condition's lock, then its mutex's (never reversed). */
    err = braid_mutex_unlock(x);
    if (err != 0) { /* not the owner */
        q_unlink(&c->q, &n);
        braid__spin_unlock(&c->m);
        return err;
    }
    braid__worker *w = braid__worker_current();
    for (;;) {
        braid__spin_unlock(&c->m);
        err = braid__park(&w, n.task, deadline);
        braid__spin_lock(&c->m);
        if (braid__load32_acquire(&n.done)) { /* acquire: under the lock anyway */
            if (err == -ECANCELED)
                braid__rearm_cancel(n.task); /* delivered below, after relocking */
            err = 0;
            break;
        }
        if (err != 0) {
            q_unlink(&c->q, &n);
            break;
        }
    }
    braid__spin_unlock(&c->m);
    /* asyncio re-acquires the lock even when cancelled or timed out, then
     * raises the cancellation: keep trying, remember it, report it. */
    int lerr;
    bool cancelled = err == -ECANCELED;
    while ((lerr = braid_mutex_lock(x)) == -ECANCELED)
        cancelled = true;
    if (!cancelled && braid__take_cancel(n.task))
        cancelled = true; /* re-armed above, or arrived while relocking */
    return cancelled ? -ECANCELED : err;
}

int braid_cond_wait(braid_cond *c, braid_mutex *x)
{
    return braid_cond_wait_until(c, x, BRAID_FOREVER);
}

int braid_cond_notify(braid_cond *c, int n)
{
    if (c == NULL || n < 0)
        return -EINVAL;
    braid__spin_lock(&c->m);
    int k = 0;
    while (k < n && c->q.head != NULL) {
        q_grant(&c->q, c->q.head, 0);
        k++;
    }
    braid__spin_unlock(&c->m);
    return k;
}

int braid_cond_notify_all(braid_cond *c)
{
    if (c == NULL)
        return -EINVAL;
    braid__spin_lock(&c->m);
    int k = 0;
    while (c->q.head != NULL) {
        q_grant(&c->q, c->q.head, 0);
        k++;
    }
    braid__spin_unlock(&c->m);
    return k;
}

/* ---- barrier ---------------------------------------------------------- */

struct braid_barrier {
    braid__spin m;
    unsigned parties, arrived;
    waitq q;
};

int braid_barrier_new(braid_barrier **out, unsigned parties)
{
    if (out == NULL || parties == 0)
        return -EINVAL;
    braid_barrier *b = braid__calloc(1, sizeof *b);
    if (b == NULL)
        return -ENOMEM;
    braid__spin_init(&b->m);
    b->parties = parties;
    *out = b;
    return 0;
}

void braid_barrier_free(braid_barrier *b)
{
    if (b == NULL)
        return;
    braid__free(b);
}

int braid_barrier_wait(braid_barrier *b)
{
    if (b == NULL)
        return -EINVAL;
    int err = need_coroutine();
    if (err != 0)
        return err;
    braid__spin_lock(&b->m);
    int index = (int)b->arrived++;
    if (b->arrived == b->parties) {
        b->arrived = 0; /* the barrier is reusable: the next round starts */
        q_grant_all(&b->q, 0);
    } else {
        qnode n;
        err = q_wait(&b->m, &b->q, &n, BRAID_FOREVER);
        if (err != 0)
            b->arrived--; /* cancelled: we leave the round */
    }
    braid__spin_unlock(&b->m);
    return err != 0 ? err : index;
}

/* ---- channel (bounded MPMC queue of intptr_t, with close) -------------- */

struct braid_chan {
    braid__spin m;
    intptr_t *ring;
    size_t cap, head, count;
    bool closed;
    waitq senders, receivers;
};

int braid_chan_new(braid_chan **out, size_t capacity)
{
    if (out == NULL || capacity == 0 || capacity > ((size_t)1 << 40))
        return -EINVAL;
    braid_chan *c = braid__calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->ring = braid__malloc(capacity * sizeof *c->ring);
    if (c->ring == NULL) {
        braid__free(c);
        return -ENOMEM;
    }
    braid__spin_init(&c->m);
    c->cap = capacity;
    *out = c;
    return 0;
}

void braid_chan_free(braid_chan *c)
{
    if (c == NULL)
        return;
    braid__free(c->ring);
    braid__free(c);
}

int braid_chan_close(braid_chan *c)
{
    if (c == NULL)
        return -EINVAL;
    braid__spin_lock(&c->m);
    int err = c->closed ? -EALREADY : 0;
    c->closed = true;
    q_grant_all(&c->senders, -EPIPE);
    q_grant_all(&c->receivers, -EPIPE); /* the buffer is empty if any wait */
    braid__spin_unlock(&c->m);
    return err;
}

/* With c->m held: the value can go somewhere now (0), or -EAGAIN. */
static int chan_put(braid_chan *c, intptr_t v)
{
    if (c->receivers.head != NULL) { /* hand it over directly */
        qnode *r = c->receivers.head;
        r->value = v;
        q_grant(&c->receivers, r, 0);
        return 0;
    }
    if (c->count < c->cap) {
        c->ring[(c->head + c->count) % c->cap] = v;
        c->count++;
        return 0;
    }
    return -EAGAIN;
}

/* With c->m held: a value now (0), or -EAGAIN. */
static int chan_get(braid_chan *c, intptr_t *v)
{
    if (c->count == 0)
        return -EAGAIN;
    *v = c->ring[c->head];
    c->head = (c->head + 1) % c->cap;
    c->count--;
    if (c->senders.head != NULL) { /* a blocked sender's value takes the slot */
        qnode *s = c->senders.head;
        c->ring[(c->head + c->count) % c->cap] = s->value;
        c->count++;
        q_grant(&c->senders, s, 0);
    }
    return 0;
}

int braid_chan_send_until(braid_chan *c, intptr_t v, int64_t deadline)
{
    if (c == NULL)
        return -EINVAL;
    int err = need_coroutine();
    if (err != 0)
        return err;
    braid__spin_lock(&c->m);
    if (c->closed) {
        err = -EPIPE;
    } else if (chan_put(c, v) != 0) {
        qnode n;
        n.value = v;
        return q_wait_unlock(&c->m, &c->senders, &n, deadline); /* granted: taken */
    }
    braid__spin_unlock(&c->m);
    return err;
}

int braid_chan_send(braid_chan *c, intptr_t v)
{
    return braid_chan_send_until(c, v, BRAID_FOREVER);
}

int braid_chan_try_send(braid_chan *c, intptr_t v)
{
    if (c == NULL)
        return -EINVAL;
    braid__spin_lock(&c->m);
    int err = c->closed ? -EPIPE : chan_put(c, v);
    braid__spin_unlock(&c->m);
    return err;
}

int braid_chan_recv_until(braid_chan *c, intptr_t *v, int64_t deadline)
{
    if (c == NULL || v == NULL)
        return -EINVAL;
    int err = need_coroutine();
    if (err != 0)
        return err;
    braid__spin_lock(&c->m);
    if (chan_get(c, v) != 0) {
        if (c->closed) {
            err = -EPIPE;
        } else {
            qnode n;
            err = q_wait_unlock(&c->m, &c->receivers, &n, deadline);
            if (err == 0)
                *v = n.value;
            return err;
        }
    }
    braid__spin_unlock(&c->m);
    return err;
}

int braid_chan_recv(braid_chan *c, intptr_t *v)
{
    return braid_chan_recv_until(c, v, BRAID_FOREVER);
}

int braid_chan_try_recv(braid_chan *c, intptr_t *v)
{
    if (c == NULL || v == NULL)
        return -EINVAL;
    braid__spin_lock(&c->m);
    int err = chan_get(c, v);
    if (err != 0 && c->closed)
        err = -EPIPE;
    braid__spin_unlock(&c->m);
    return err;
}

long braid_chan_len(braid_chan *c)
{
    if (c == NULL)
        return -EINVAL;
    braid__spin_lock(&c->m);
    long n = (long)c->count;
    braid__spin_unlock(&c->m);
    return n;
}

/* ---- future ----------------------------------------------------------- */

typedef struct fcb {
    struct fcb *next;
    void (*fn)(braid_future *f, void *arg);
    void *arg;
} fcb;

struct braid_future {
    braid__spin m;
    int state; /* 0 pending, 1 resolved, 2 failed */
    int64_t value;
    int err;
    waitq q;
    fcb *callbacks; /* newest first; run oldest first */
};

int braid_future_new(braid_future **out)
{
    if (out == NULL)
        return -EINVAL;
    braid_future *f = braid__calloc(1, sizeof *f);
    if (f == NULL)
        return -ENOMEM;
    braid__spin_init(&f->m);
    *out = f;
    return 0;
}

void braid_future_free(braid_future *f)
{
    if (f == NULL)
        return;
    fcb *cb = f->callbacks;
    while (cb != NULL) {
        fcb *next = cb->next;
        braid__free(cb);
        cb = next;
    }
    braid__free(f);
}

static int future_complete(braid_future *f, int state, int64_t value, int err)
{
    braid__spin_lock(&f->m);
    if (f->state != 0) {
        braid__spin_unlock(&f->m);
        return -EALREADY;
    }
    f->state = state;
    f->value = value;
    f->err = err;
    q_grant_all(&f->q, 0);
    fcb *cbs = f->callbacks;
    f->callbacks = NULL;
    braid__spin_unlock(&f->m);
    /* Run callbacks in registration order, outside the lock. */
    fcb *rev = NULL;
    while (cbs != NULL) {
        fcb *next = cbs->next;
        cbs->next = rev;
        rev = cbs;
        cbs = next;
    }
    while (rev != NULL) {
        fcb *next = rev->next;
        rev->fn(f, rev->arg);
        braid__free(rev);
        rev = next;
    }
    return 0;
}

int braid_future_resolve(braid_future *f, int64_t value)
{
    if (f == NULL)
        return -EINVAL;
    return future_complete(f, 1, value, 0);
}

int braid_future_fail(braid_future *f, int err)
{
    if (f == NULL || err >= 0)
        return -EINVAL;
    return future_complete(f, 2, 0, err);
}

int braid_future_done(braid_future *f)
{
    if (f == NULL)
        return -EINVAL;
    braid__spin_lock(&f->m);
    int d = f->state != 0;
    braid__spin_unlock(&f->m);
    return d;
}

int braid_future_await_until(braid_future *f, int64_t *value, int64_t deadline)
{
    if (f == NULL)
        return -EINVAL;
    braid__spin_lock(&f->m);
    int err = 0;
    if (f->state == 0) {
        qnode n;
        err = q_wait(&f->m, &f->q, &n, deadline);
    }
    if (err == 0) {
        err = f->state == 2 ? f->err : 0;
        if (err == 0 && value != NULL)
            *value = f->value;
    }
    braid__spin_unlock(&f->m);
    return err;
}

int braid_future_await(braid_future *f, int64_t *value)
{
    return braid_future_await_until(f, value, BRAID_FOREVER);
}

int braid_future_on_done(braid_future *f, void (*fn)(braid_future *f, void *arg), void *arg)
{
    if (f == NULL || fn == NULL)
        return -EINVAL;
    fcb *cb = braid__malloc(sizeof *cb);
    if (cb == NULL)
        return -ENOMEM;
    cb->fn = fn;
    cb->arg = arg;
    braid__spin_lock(&f->m);
    if (f->state == 0) {
        cb->next = f->callbacks;
        f->callbacks = cb;
        braid__spin_unlock(&f->m);
        return 0;
    }
    braid__spin_unlock(&f->m);
    braid__free(cb);
    fn(f, arg); /* already done: call at once, on this thread */
    return 0;
}
