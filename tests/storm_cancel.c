/* storm_cancel.c - a seeded storm of spawn, await, yield, sleep, cancel,
 * gather, channel, future, event and socket traffic across workers, with
 * cancellations at random moments, checked against invariants. A plain
 * program (no Criterion) so that it also runs under ThreadSanitizer.
 *
 * Three phases cancel 10%, 50% and 90% of the tasks. Each phase runs
 * DRIVERS driver coroutines; a driver runs its share of the tasks in
 * batches of BATCH "subjects". A subject picks a behaviour from the seed
 * (return at once, compute, yield k times, sleep, wait on an event, a
 * future, its own channel, a shared channel, a socket read, await a child,
 * gather children, spin until poked) and a cancellation plan: none; right
 * after its spawn (queued); while it spins (running, from another thread);
 * while it waits (suspended, sleeping, in I/O); at a random moment; after
 * it was awaited (finished). The canceller is the driver, one of two
 * canceller coroutines fed through a channel, or a plain pthread (the
 * canceller thread). The coroutines and the thread carry many plans at
 * once, stepping each (cancel_step) when the subject moves (subjects kick
 * them at each step); a plan for a waiting subject cancels it once it
 * waits on something only the plan releases, then releases it at once
 * (the grant races the cancel) or a few steps later. A spinner hands its
 * plan to a canceller coroutine running on the other worker, or to the
 * thread, and spins until poked: the cancel lands on a running task.
 *
 * Every body ends with a "tail" braid_yield() after its main action, so
 * that a cancellation recorded while the body still runs or waits has a
 * waiting call to be delivered at. Invariants, per task:
 *   - its body starts at most once, and returns once if it started;
 *   - it did not start  =>  it was cancelled and its status is -ECANCELED;
 *   - status -ECANCELED =>  a cancel was issued on it (or, for a child, on
 *     its parent), and a body that ran saw -ECANCELED from a waiting call;
 *   - a cancel that braid_cancel recorded (returned 1) while the body had
 *     not reached its tail yield is never lost: the status is -ECANCELED
 *     (grant-wins races included: a wait that got its event, value, byte
 *     or timer after the cancel must leave the cancel to the next waiting
 *     call). Not applied to "await a child", where asyncio lets the child
 *     absorb the cancellation; there only the provable case is checked:
 *     cancelled while it awaits a child that waits on an event set after
 *     the parent left its await  =>  -ECANCELED;
 *   - braid_cancel returns 0 only on a task that ended; a cancel issued
 *     after the task was awaited returns 0 and changes nothing (awaiting
 *     again gives the same status and result);
 *   - status 0  =>  the result is exactly what the behaviour computes;
 *   - no value is lost or duplicated: a byte written to a task's socket,
 *     a value sent to its channel is either consumed by it or left there;
 *     the sums over each driver's shared channel balance;
 * and per runtime: spawned == completed, live == 0, braid_rt_free is 0.
 *
 * Usage: storm_cancel [seed] [tasks per phase] [workers]. Prints the seed
 * (a failure replays its choices, not the thread interleaving), a line per
 * phase, and a final "N passed, N failed" line.
 */
#include <braid.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STRESS_NAME "storm_cancel"
#define STRESS_REPORTS 50
#include "stress_common.h"

/* Same, with the subject's description when it fails. */
#define CHECK_S(s, c)                                                                         \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            if (stress_failed())                                                              \
                fprintf(stderr,                                                               \
                        STRESS_NAME ": check failed at line %d: %s [subject %" PRIu64         \
                        " beh %s plan %s by %s: status %d started %d ended %d cancels %d "    \
                        "recorded %d must %d stage-seen %d consumed %d]\n",                   \
                        __LINE__, #c, (s)->id, beh_name[(s)->beh], plan_name[(s)->plan],      \
                        who_name[(s)->who], atomic_load(&(s)->status),                        \
                        atomic_load(&(s)->started),                                           \
                        atomic_load(&(s)->ended), atomic_load(&(s)->cancels),                 \
                        atomic_load(&(s)->recorded), atomic_load(&(s)->must_cancel),          \
                        atomic_load(&(s)->seen_stage), atomic_load(&(s)->consumed));          \
        }                                                                                     \
    } while (0)

/* ---- subjects ------------------------------------------------------------ */

enum beh {
    B_RET,        /* return at once */
    B_COMPUTE,    /* a little arithmetic */
    B_YIELD,      /* yield k times */
    B_SLEEP,      /* sleep a few us to ms */
    B_SLEEP_LONG, /* sleep 30 s: only a cancel ends it in time */
    B_EVENT,      /* wait on its event */
    B_FUTURE,     /* await its future */
    B_CHAN,       /* receive from its own channel */
    B_IO,         /* braid_read one byte from its socket */
    B_AWAIT,      /* spawn a child and await it */
    B_GATHER,     /* spawn 2-4 children and gather them */
    B_SEND,       /* send on the driver's shared channel */
    B_RECV,       /* receive from the driver's shared channel */
    B_SPIN,       /* spin until poked by its canceller (or a timeout) */
    B_COUNT
};
static const char *beh_name[B_COUNT] = {"ret",   "compute", "yield",  "sleep", "sleep-long",
                                        "event", "future",  "chan",   "io",    "await",
                                        "gather", "send",   "recv",   "spin"};

enum plan {
    P_NONE,
    P_QUEUED,    /* cancelled right after its spawn */
    P_RUNNING,   /* cancelled while it spins (B_SPIN), from another thread */
    P_SUSPENDED, /* ... while it waits (event, future, channel, await, gather) */
    P_SLEEPING,  /* ... while it sleeps (B_SLEEP_LONG) */
    P_IO,        /* ... while it waits in braid_read */
    P_FINISHED,  /* ... after it was awaited */
    P_ANY,       /* ... at a random moment */
    P_COUNT
};
static const char *plan_name[P_COUNT] = {"none", "queued",  "running",  "suspended",
                                         "sleeping", "io", "finished", "any"};

enum who { W_DRIVER, W_COROUTINE, W_THREAD, W_COUNT };
static const char *who_name[W_COUNT] = {"driver", "coroutine", "thread"};

/* Where a body is; set (seq_cst) before each step. */
enum stage { S_NEW, S_RUNNING, S_WAITING, S_TAIL, S_RETURNED };

/* The spin handshake of B_SPIN. */
enum spin { SP_IDLE, SP_SPINNING, SP_CLAIMED, SP_POKED, SP_TIMEDOUT };

/* Kinds of moment a recorded cancel hit, from the stage seen just before
 * braid_cancel (and the behaviour). */
enum moment { M_QUEUED, M_RUNNING, M_SUSPENDED, M_SLEEPING, M_IO, M_TAIL, M_FINISHED, M_COUNT };
static const char *moment_name[M_COUNT] = {"queued", "running", "suspended", "sleeping",
                                           "io",     "tail",    "finished"};

enum { DRIVERS = 4, BATCH = 64, MAXCHILD = 4, CANCELLERS = 2 };

typedef struct slot slot;
typedef struct driver driver;

typedef struct child {
    slot *parent;
    int j;
    int beh; /* B_RET, B_YIELD, B_EVENT, B_SLEEP */
    int k;
    int64_t sleep_ns;
    atomic_int started, ended, stage;
    braid_task *_Atomic t; /* for the report of a hang */
} child;

struct slot {
    driver *d;
    braid_task *t;          /* the driver's handle */
    braid_task *_Atomic tp; /* the same, for cancellers: set by the driver
                             * after the spawn, or by a spinner itself
                             * (braid_self) before it hands its plan over */
    uint64_t id;
    int beh, plan, who;
    int k;            /* yields, compute rounds, children */
    int gather_flags;
    int64_t sleep_ns;
    atomic_int started, ended, stage, saw_cancel;
    atomic_int cancels;     /* cancels issued: counted before braid_cancel */
    atomic_int recorded;    /* ... of which braid_cancel returned 1 */
    atomic_int must_cancel; /* one was recorded before the tail yield */
    atomic_int seen_stage;  /* the stage seen before the first recorded cancel, -1 */
    atomic_int spin;
    atomic_int deleg_done;
    atomic_int consumed;    /* the body took its value / byte */
    atomic_int released;
    atomic_int spin_poked;
    atomic_long got;        /* B_RECV: the value received */
    braid_event *ev;
    braid_future *fut;
    braid_chan *ch;
    int fd[2];
    child kids[MAXCHILD];
    slot *qnext;            /* the canceller thread's queue */
    /* The canceller's progress through the plan (cancel_step). */
    int cstate, cpause;
    bool csecond;
    int64_t cdeadline;
    atomic_int poked_by;    /* B_SPIN: who took its plan (a W_ value) */
    braid_event *_Atomic kick; /* the canceller coroutine carrying its plan */
    atomic_int kick_thread;    /* ... or the canceller thread */
    atomic_int status;      /* read by CHECK_S on any thread */
    int64_t result;
};

typedef struct phase phase;

struct driver {
    phase *ph;
    int index;
    uint64_t first_id;
    long tasks;
    slot slots[BATCH];
    braid_chan *shared;
    braid_event *dlg_ev;    /* set when the last delegated plan is done */
    atomic_int outstanding; /* delegated plans not carried out yet */
    int64_t sent_sum, recv_sum; /* by the driver, after the awaits */
    int64_t fillers, drained;
};

/* Counters of a phase, summed by the drivers at the end of each batch. */
typedef struct counts {
    long subjects, children;
    long issued, recorded, won, started;
    long by_moment[M_COUNT], won_by_moment[M_COUNT];
    long plan_issued[P_COUNT], plan_won[P_COUNT];
    long spin_poked, spin_missed, spin_by_coroutine;
    long provable, by_who[W_COUNT];
} counts;

struct phase {
    braid_rt *rt;
    unsigned workers;
    int pct;
    uint64_t seed;
    long tasks;
    int64_t spin_ns;
    braid_chan *reqs; /* slots for the canceller coroutines */
    /* Spinners pick a canceller coroutine that runs on another worker
     * and push themselves on its mailbox (a lock-free stack). */
    struct ccarg {
        phase *ph;
        int index;
        atomic_int worker; /* where it last stepped */
        atomic_int active; /* stepping (not blocked in braid_chan_recv) */
        braid_event *kick; /* set when something it waits for may have moved */
        slot *_Atomic mbox;
    } cc[CANCELLERS];
    atomic_long spin_pending; /* spinners (plan: coroutine) not done spinning */
    /* The canceller thread's queue. */
    pthread_mutex_t qm;
    pthread_cond_t qc;
    slot *qhead, *qtail;
    bool qstop, kicked;
    pthread_mutex_t cm; /* counts */
    counts c;
    driver drivers[DRIVERS];
};

static void post_thread(phase *ph, slot *s);

static int64_t val_of(uint64_t id)
{
    return (int64_t)(mix(id * 0x9e3779b97f4a7c15ULL + 7) & 0xffffff) + 1;
}

static int64_t cval_of(uint64_t id, int j)
{
    return (int64_t)(mix(id * 8 + (uint64_t)j + 0x1234567) & 0xffff) + 1;
}

static int64_t compute(uint64_t id, int k)
{
    uint64_t x = id;
    for (int i = 0; i < k; i++)
        x = mix(x + (uint64_t)i);
    return (int64_t)(x & 0xffffff) + 1;
}

static unsigned char byte_of(uint64_t id)
{
    return (unsigned char)(val_of(id) & 0xff);
}

static bool needs_release(int beh)
{
    return beh == B_EVENT || beh == B_FUTURE || beh == B_CHAN || beh == B_IO || beh == B_AWAIT ||
           beh == B_GATHER;
}

/* Make the condition a waiting subject waits for come true: its event
 * set, future resolved, value sent, byte written. Any thread. */
static void release(slot *s)
{
    if (atomic_exchange(&s->released, 1))
        return;
    switch (s->beh) {
    case B_EVENT:
    case B_AWAIT:
    case B_GATHER:
        CHECK(braid_event_set(s->ev) == 0);
        break;
    case B_FUTURE:
        CHECK(braid_future_resolve(s->fut, val_of(s->id)) == 0);
        break;
    case B_CHAN:
        CHECK(braid_chan_try_send(s->ch, (intptr_t)val_of(s->id)) == 0);
        break;
    case B_IO: {
        unsigned char b = byte_of(s->id);
        CHECK(write(s->fd[1], &b, 1) == 1);
        break;
    }
    default:
        break;
    }
}

static void kick(slot *s);

/* A subject's step: store it, then wake its canceller if it has one. */
static void set_stage(slot *s, int st)
{
    atomic_store(&s->stage, st);
    kick(s);
}

/* The tail: one more waiting call, where a cancellation recorded while the
 * body ran or waited (and not delivered yet) must show up. */
static int64_t tail(slot *s, int64_t r)
{
    if (r == -ECANCELED)
        return r;
    set_stage(s, S_TAIL);
    int e = braid_yield();
    if (e == -ECANCELED)
        return -ECANCELED;
    return e == 0 ? r : -EIO;
}

static int64_t child_body(void *arg)
{
    child *c = arg;
    int n = atomic_fetch_add(&c->started, 1);
    CHECK(n == 0);
    slot *p = c->parent;
    int64_t r = cval_of(p->id, c->j);
    int e = 0;
    switch (c->beh) {
    case B_RET:
        break;
    case B_YIELD:
        for (int i = 0; i < c->k && e == 0; i++)
            e = braid_yield();
        break;
    case B_EVENT:
        atomic_store(&c->stage, S_WAITING);
        e = braid_event_wait(p->ev);
        atomic_store(&c->stage, S_TAIL);
        break;
    case B_SLEEP:
        e = braid_sleep(c->sleep_ns);
        break;
    }
    if (e != 0)
        r = e == -ECANCELED ? -ECANCELED : -EIO;
    if (r != -ECANCELED) {
        e = braid_yield();
        if (e != 0)
            r = e == -ECANCELED ? -ECANCELED : -EIO;
    }
    atomic_fetch_add(&c->ended, 1);
    return r;
}

/* Check a child after it was awaited (status st, result v). */
static void check_child(slot *s, child *c, braid_task *t, int st, int64_t v)
{
    CHECK(braid_task_done(t) == 1);
    int started = atomic_load(&c->started), ended = atomic_load(&c->ended);
    CHECK_S(s, started <= 1);
    CHECK_S(s, ended == started);
    if (started == 0)
        CHECK_S(s, st == -ECANCELED);
    if (st == -ECANCELED)
        CHECK_S(s, atomic_load(&s->cancels) > 0); /* only the parent's cancel reaches it */
    else
        CHECK_S(s, st == 0 && v == cval_of(s->id, c->j));
}

static int64_t subject_main(slot *s)
{
    int64_t val = val_of(s->id);
    int e;
    switch (s->beh) {
    case B_RET:
        return val;
    case B_COMPUTE:
        return compute(s->id, s->k);
    case B_YIELD:
        set_stage(s, S_WAITING);
        for (int i = 0; i < s->k; i++) {
            e = braid_yield();
            if (e != 0)
                return e == -ECANCELED ? -ECANCELED : -EIO;
        }
        return val + s->k;
    case B_SLEEP:
    case B_SLEEP_LONG:
        set_stage(s, S_WAITING);
        e = braid_sleep(s->sleep_ns);
        if (e != 0)
            return e == -ECANCELED ? -ECANCELED : -EIO;
        return val;
    case B_EVENT:
        set_stage(s, S_WAITING);
        e = braid_event_wait(s->ev);
        if (e != 0)
            return e == -ECANCELED ? -ECANCELED : -EIO;
        return val;
    case B_FUTURE: {
        set_stage(s, S_WAITING);
        int64_t v = -1;
        e = braid_future_await(s->fut, &v);
        if (e != 0)
            return e == -ECANCELED ? -ECANCELED : -EIO;
        atomic_store(&s->consumed, 1);
        return v;
    }
    case B_CHAN: {
        set_stage(s, S_WAITING);
        intptr_t v = -1;
        e = braid_chan_recv(s->ch, &v);
        if (e != 0)
            return e == -ECANCELED ? -ECANCELED : -EIO;
        atomic_store(&s->consumed, 1);
        return (int64_t)v;
    }
    case B_IO: {
        set_stage(s, S_WAITING);
        unsigned char b = 0;
        ssize_t n = braid_read(s->fd[0], &b, 1, braid_now() + 30 * BRAID_SEC);
        if (n < 0)
            return n; /* -ECANCELED, or an error the check reports */
        if (n != 1)
            return -EIO;
        atomic_store(&s->consumed, 1);
        return b == byte_of(s->id) ? val : -EILSEQ;
    }
    case B_AWAIT: {
        child *c = &s->kids[0];
        braid_task *t;
        if (braid_spawn(&t, child_body, c) != 0)
            return -ENOMEM;
        atomic_store(&c->t, t);
        set_stage(s, S_WAITING);
        int64_t v = -1;
        int st = braid_await(t, &v);
        /* asyncio: a cancelled await passes the cancel on and waits for
         * the child, so the child has ended and the call returned its
         * status; awaiting again must say the same. */
        int64_t v2 = -1;
        int st2 = braid_await(t, &v2);
        CHECK_S(s, st2 == st);
        if (st == 0)
            CHECK_S(s, v2 == v);
        check_child(s, c, t, st2, v2);
        braid_task_release(t);
        if (st != 0)
            return st == -ECANCELED ? -ECANCELED : -EIO;
        return val + v;
    }
    case B_GATHER: {
        braid_task *t[MAXCHILD];
        int64_t res[MAXCHILD];
        int sts[MAXCHILD];
        int m = s->k;
        for (int j = 0; j < m; j++)
            if (braid_spawn(&t[j], child_body, &s->kids[j]) != 0)
                return -ENOMEM; /* (leaks the others: never happens here) */
        set_stage(s, S_WAITING);
        e = braid_gather(t, (size_t)m, res, sts, (unsigned)s->gather_flags);
        int64_t sum = val;
        for (int j = 0; j < m; j++) {
            int64_t v = -1;
            int st = braid_await(t[j], &v); /* a cancelled gather cancelled them */
            if (e == 0) {
                CHECK_S(s, sts[j] == st);
                if (st == 0)
                    CHECK_S(s, res[j] == v);
            }
            check_child(s, &s->kids[j], t[j], st, v);
            sum += st == 0 ? v : 0;
            braid_task_release(t[j]);
        }
        if (e != 0)
            return e == -ECANCELED ? -ECANCELED : -EIO;
        if (s->gather_flags == BRAID_GATHER_RETURN_ERRORS)
            for (int j = 0; j < m; j++)
                if (sts[j] != 0)
                    return -EIO; /* children only fail when the parent is cancelled */
        return sum;
    }
    case B_SEND:
        set_stage(s, S_WAITING);
        e = braid_chan_send(s->d->shared, (intptr_t)val);
        if (e != 0)
            return e == -ECANCELED ? -ECANCELED : -EIO;
        atomic_store(&s->consumed, 1);
        return val;
    case B_RECV: {
        set_stage(s, S_WAITING);
        intptr_t v = -1;
        e = braid_chan_recv(s->d->shared, &v);
        if (e != 0)
            return e == -ECANCELED ? -ECANCELED : -EIO;
        atomic_store(&s->got, (long)v);
        atomic_store(&s->consumed, 1);
        return (int64_t)v;
    }
    case B_SPIN: {
        /* Hand our plan to a canceller that runs beside us: a canceller
         * coroutine active on another worker (if our plan says
         * coroutine and there is one), else the canceller thread. Then
         * spin until it claims us, cancels and pokes, or spin_ns passes. */
        phase *ph = s->d->ph;
        atomic_store(&s->tp, braid_self()); /* we may run before braid_spawn returned */
        int by = W_THREAD;
        int me = braid_worker_id();
        for (int k = 0; k < CANCELLERS && s->who == W_COROUTINE; k++) {
            struct ccarg *cc = &ph->cc[(k + (int)(s->id % CANCELLERS)) % CANCELLERS];
            if (atomic_load(&cc->active) && atomic_load(&cc->worker) != me) {
                slot *head = atomic_load(&cc->mbox);
                do
                    s->qnext = head;
                while (!atomic_compare_exchange_weak(&cc->mbox, &head, s));
                braid_event_set(cc->kick);
                by = W_COROUTINE;
                break;
            }
        }
        atomic_store(&s->poked_by, by);
        /* A canceller coroutine polls every 20 us or so: if it has not
         * come in 300 us, it is stuck behind us on our worker. */
        int64_t until = braid_now() + (by == W_COROUTINE ? ph->spin_ns / 6 : ph->spin_ns);
        atomic_store(&s->spin, SP_SPINNING);
        if (by == W_THREAD)
            post_thread(ph, s);
        for (unsigned i = 0;; i++) {
            int sp = atomic_load(&s->spin);
            if (sp == SP_POKED)
                break;
            if (sp == SP_SPINNING && (i & 63) == 0 && braid_now() > until) {
                int want = SP_SPINNING;
                if (atomic_compare_exchange_strong(&s->spin, &want, SP_TIMEDOUT))
                    break;
            }
            /* Our worker's thread yields its CPU (we stay RUNNING): the
             * canceller thread may be waiting for one. */
            if (by == W_THREAD && (i & 15) == 15)
                sched_yield();
        }
        if (s->who == W_COROUTINE)
            atomic_fetch_sub(&ph->spin_pending, 1);
        /* Poked: the cancel was recorded while we ran; this yield gets it. */
        e = braid_yield();
        if (e != 0)
            return e == -ECANCELED ? -ECANCELED : -EIO;
        return val;
    }
    }
    return -EINVAL;
}

static int64_t subject(void *arg)
{
    slot *s = arg;
    int n = atomic_fetch_add(&s->started, 1);
    CHECK(n == 0);
    atomic_store(&s->stage, S_RUNNING);
    int64_t r = tail(s, subject_main(s));
    if (r == -ECANCELED)
        atomic_store(&s->saw_cancel, 1);
    atomic_fetch_add(&s->ended, 1);
    set_stage(s, S_RETURNED);
    return r;
}

static int64_t expected(slot *s)
{
    int64_t val = val_of(s->id);
    switch (s->beh) {
    case B_COMPUTE:
        return compute(s->id, s->k);
    case B_YIELD:
        return val + s->k;
    case B_AWAIT:
        return val + cval_of(s->id, 0);
    case B_GATHER: {
        int64_t sum = val;
        for (int j = 0; j < s->k; j++)
            sum += cval_of(s->id, j);
        return sum;
    }
    case B_RECV:
        return atomic_load(&s->got);
    default:
        return val;
    }
}

/* ---- cancelling ------------------------------------------------------------ */

/* Cancel s once, counting and recording what braid_cancel saw. */
static int cancel_once(slot *s)
{
    int before = atomic_load(&s->stage);
    atomic_fetch_add(&s->cancels, 1); /* before the cancel: whoever sees it sees this */
    int r = braid_cancel(atomic_load(&s->tp));
    int after = atomic_load(&s->stage);
    CHECK_S(s, r == 0 || r == 1);
    if (r == 1) {
        int first = atomic_fetch_add(&s->recorded, 1) == 0;
        if (first)
            atomic_store(&s->seen_stage, before);
        /* Recorded while the body had not reached its tail yield: the tail
         * yield (at the latest) must deliver it. */
        if (after <= S_WAITING)
            atomic_store(&s->must_cancel, 1);
    } else {
        /* 0: the task had ended: its body returned, or it never started
         * because an earlier cancel was recorded. */
        CHECK_S(s, after == S_RETURNED || (after == S_NEW && atomic_load(&s->recorded) > 0));
    }
    return r;
}

/* Wait a little before polling again: yield at first, then sleep 20 us
 * (a worker that only polls would keep its CPU from the canceller thread,
 * two cores being shared by three threads). *n counts the polls since the
 * last progress. */
static void backoff(unsigned *n, bool coroutine)
{
    if ((*n)++ < 8) {
        if (coroutine)
            braid_yield();
        else
            sched_yield();
    } else if (coroutine) {
        braid_sleep(20000);
    } else {
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
}

/* How long a plan may wait for its subject: 20 s (1 s once something
 * failed: a run with a bug ends soon). */
static int64_t patience(void)
{
    return (atomic_load(&failures) ? 1 : 20) * BRAID_SEC;
}

static void report_hang(slot *s)
{
    CHECK_S(s, !"its cancellation plan timed out");
    if (s->beh == B_AWAIT) {
        child *c = &s->kids[0];
        braid_task *ct = atomic_load(&c->t);
        fprintf(stderr,
                "storm_cancel: hang: parent %p stage %d done %d; child %p started %d ended %d "
                "stage %d done %d\n",
                (void *)atomic_load(&s->tp), atomic_load(&s->stage),
                braid_task_done(atomic_load(&s->tp)), (void *)ct,
                atomic_load(&c->started), atomic_load(&c->ended), atomic_load(&c->stage),
                ct ? braid_task_done(ct) : -1);
    }
}

enum step { STEP_WAIT, STEP_MOVED, STEP_DONE };

/* One step of s's plan (not QUEUED or FINISHED: the driver does those):
 * STEP_DONE once it is carried out, STEP_MOVED if it moved on (a pause
 * step), STEP_WAIT if it waits for the subject. A step never blocks, so
 * one canceller (a coroutine, the thread) carries many plans at once. */
static int cancel_step(slot *s, bool thread)
{
    int64_t now = braid_now();
    if (s->cdeadline == 0)
        s->cdeadline = now + patience();
    if (now > s->cdeadline) {
        report_hang(s);
        release(s); /* unstick it */
        return STEP_DONE;
    }
    switch (s->plan) {
    case P_RUNNING: {
        /* Wait for it to spin (or to give up: it ran where we could not
         * run beside it). */
        if (atomic_load(&s->spin) == SP_IDLE && braid_task_done(atomic_load(&s->tp)) != 1)
            return STEP_WAIT;
        int want = SP_SPINNING;
        if (atomic_compare_exchange_strong(&s->spin, &want, SP_CLAIMED)) {
            int rc = cancel_once(s);
            CHECK_S(s, rc == 1);
            atomic_store(&s->spin_poked, 1);
            atomic_store(&s->spin, SP_POKED);
        }
        return STEP_DONE;
    }
    case P_SUSPENDED:
    case P_SLEEPING:
    case P_IO:
        if (s->cstate == 0) {
            /* It waits on something nobody releases until we cancelled. */
            if (atomic_load(&s->stage) != S_WAITING) {
                if (braid_task_done(atomic_load(&s->tp)) == 1) {
                    CHECK_S(s, !"ended before its cancel");
                    return STEP_DONE;
                }
                return STEP_WAIT;
            }
            int rc = cancel_once(s);
            CHECK_S(s, rc == 1); /* (the stage seen after it may be later: it woke) */
            s->cstate = 1;
        }
        if (s->beh == B_AWAIT) {
            /* Release only once the parent left its await (the cancel
             * reached the child first: provable). */
            if (atomic_load(&s->stage) == S_WAITING)
                return STEP_WAIT;
        } else if (s->cpause > 0) {
            s->cpause--;
            return STEP_MOVED;
        }
        /* At once, mostly: the grant races the cancel, and must not eat
         * it. */
        release(s);
        return STEP_DONE;
    case P_ANY:
        if (thread) {
            /* The random moment: a few microseconds from now. */
            int64_t until = braid_now() + s->cpause * 2000;
            while (braid_now() < until)
                ;
            s->cpause = 0;
        }
        if (s->cpause > 0) {
            s->cpause--;
            return STEP_MOVED;
        }
        cancel_once(s);
        if (s->csecond) { /* and again, a step later: idempotent */
            s->csecond = false;
            return STEP_MOVED;
        }
        return STEP_DONE;
    default:
        CHECK(0);
        return STEP_DONE;
    }
}

static void do_cancel(slot *s, bool coroutine)
{
    unsigned n = 0;
    int st;
    while ((st = cancel_step(s, !coroutine)) != STEP_DONE) {
        if (st == STEP_MOVED)
            n = 0;
        backoff(&n, coroutine);
    }
}

enum { INFLIGHT = DRIVERS * BATCH };

/* A delegated plan is carried out: tell its driver. */
static void deleg_finish(slot *s)
{
    driver *d = s->d;
    atomic_store(&s->deleg_done, 1);
    if (atomic_fetch_sub(&d->outstanding, 1) == 1)
        CHECK(braid_event_set(d->dlg_ev) == 0);
}

/* Step every plan in flight; drop those carried out. Returns how many
 * are left; *moved is set if any plan moved on or was carried out. */
static int step_all(slot **prog, int np, bool thread, bool *moved)
{
    *moved = false;
    for (int i = 0; i < np;) {
        int st = cancel_step(prog[i], thread);
        if (st != STEP_WAIT)
            *moved = true;
        if (st == STEP_DONE) {
            deleg_finish(prog[i]);
            prog[i] = prog[--np];
        } else {
            i++;
        }
    }
    return np;
}

static int64_t canceller_coroutine(void *arg)
{
    struct ccarg *cc = arg;
    phase *ph = cc->ph;
    slot *prog[INFLIGHT];
    int np = 0;
    unsigned idle = 0;
    bool open = true;
    for (;;) {
        /* Cleared before we look: a kick after this is not lost. */
        CHECK(braid_event_clear(cc->kick) == 0);
        atomic_store(&cc->worker, braid_worker_id());
        intptr_t v;
        int e = 0;
        bool moved = false;
        while (np < INFLIGHT && (e = braid_chan_try_recv(ph->reqs, &v)) == 0) {
            if (v != 0) { /* (0: a nudge, see below) */
                slot *s = (slot *)v;
                atomic_store(&s->kick, cc->kick);
                prog[np++] = s;
                moved = true;
            }
        }
        if (e == -EPIPE)
            open = false;
        for (slot *m = atomic_exchange(&cc->mbox, NULL); m != NULL;) {
            slot *next = m->qnext;
            CHECK(np < INFLIGHT);
            atomic_store(&m->kick, cc->kick);
            prog[np++] = m;
            moved = true;
            m = next;
        }
        bool stepped;
        np = step_all(prog, np, false, &stepped);
        if (moved || stepped)
            idle = 0;
        if (np > 0 || atomic_load(&ph->spin_pending) > 0) {
            /* Plans in flight, or spinners to come (which may pick us):
             * poll, yielding at first, then waiting for a kick (a
             * subject's step, a spinner, a request) or 200 us. */
            if (np > 0 && idle++ < 8)
                braid_yield();
            else
                braid_event_wait_until(cc->kick, braid_now() + 200000);
            continue;
        }
        if (!open)
            break;
        /* Nothing to do: block. A driver that spawns a spinner nudges us
         * (sends 0) so that we poll again. */
        atomic_store(&cc->active, 0);
        if (atomic_load(&ph->spin_pending) == 0 && atomic_load(&cc->mbox) == NULL) {
            if (braid_chan_recv(ph->reqs, &v) != 0) {
                open = false;
            } else if (v != 0) {
                slot *s = (slot *)v;
                atomic_store(&s->kick, cc->kick);
                prog[np++] = s;
            }
        }
        atomic_store(&cc->active, 1);
    }
    CHECK(atomic_load(&cc->mbox) == NULL);
    return 0;
}

static void *canceller_thread(void *arg)
{
    phase *ph = arg;
    slot *prog[INFLIGHT];
    int np = 0;
    bool moved = false;
    for (;;) {
        pthread_mutex_lock(&ph->qm);
        if (np == 0) {
            while (ph->qhead == NULL && !ph->qstop)
                pthread_cond_wait(&ph->qc, &ph->qm);
        } else if (ph->qhead == NULL && !ph->kicked && !moved) {
            /* Nothing moved: wait for a post, a kick (a subject's step),
             * or 200 us. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&ph->qc, &ph->qm, &ts);
        }
        ph->kicked = false; /* cleared before we look */
        if (np == 0 && ph->qhead == NULL) { /* stopped */
            pthread_mutex_unlock(&ph->qm);
            break;
        }
        while (np < INFLIGHT && ph->qhead != NULL) {
            prog[np++] = ph->qhead;
            ph->qhead = ph->qhead->qnext;
        }
        if (ph->qhead == NULL)
            ph->qtail = NULL;
        pthread_mutex_unlock(&ph->qm);
        np = step_all(prog, np, true, &moved);
    }
    return NULL;
}

/* A subject moved (its stage, its spin): wake whoever carries its plan. */
static void kick(slot *s)
{
    braid_event *k = atomic_load(&s->kick);
    if (k != NULL) {
        braid_event_set(k);
    } else if (atomic_load(&s->kick_thread)) {
        phase *ph = s->d->ph;
        pthread_mutex_lock(&ph->qm);
        ph->kicked = true;
        pthread_cond_signal(&ph->qc);
        pthread_mutex_unlock(&ph->qm);
    }
}

static void post_thread(phase *ph, slot *s)
{
    atomic_store(&s->kick_thread, 1);
    s->qnext = NULL;
    pthread_mutex_lock(&ph->qm);
    if (ph->qtail != NULL)
        ph->qtail->qnext = s;
    else
        ph->qhead = s;
    ph->qtail = s;
    pthread_cond_signal(&ph->qc);
    pthread_mutex_unlock(&ph->qm);
}

/* ---- drivers --------------------------------------------------------------- */

static int pick_plain_beh(rng *r, bool any)
{
    /* Weights: ret 14, compute 8, yield 14, sleep 8, event 8, future 6,
     * chan 6, io 8, await 8, gather 6, send 5, recv 5, sleep-long (any) 4. */
    static const int w[][2] = {{B_RET, 14},   {B_COMPUTE, 8}, {B_YIELD, 14}, {B_SLEEP, 8},
                               {B_EVENT, 8},  {B_FUTURE, 6},  {B_CHAN, 6},   {B_IO, 8},
                               {B_AWAIT, 8},  {B_GATHER, 6},  {B_SEND, 5},   {B_RECV, 5},
                               {B_SLEEP_LONG, 4}};
    int n = (int)(sizeof w / sizeof w[0]) - (any ? 0 : 1);
    int total = 0;
    for (int i = 0; i < n; i++)
        total += w[i][1];
    int x = (int)rbelow(r, (unsigned)total);
    for (int i = 0; i < n; i++) {
        if (x < w[i][1])
            return w[i][0];
        x -= w[i][1];
    }
    return B_RET;
}

static int64_t short_sleep(rng *r)
{
    unsigned x = rbelow(r, 100);
    if (x < 85)
        return 1000 + (int64_t)rbelow(r, 49000); /* 1-50 us */
    if (x < 99)
        return 50000 + (int64_t)rbelow(r, 250000); /* 50-300 us */
    return 300000 + (int64_t)rbelow(r, 1700000); /* 0.3-2 ms */
}

static void setup_slot(driver *d, slot *s, uint64_t id, rng *r)
{
    phase *ph = d->ph;
    s->d = d;
    s->t = NULL;
    atomic_store(&s->tp, NULL);
    s->id = id;
    int plan = P_NONE;
    if (rbelow(r, 100) < (unsigned)ph->pct) {
        /* Moment weights (per mille): queued 200, running 3, suspended
         * 220, sleeping 100, io 120, finished 130, any 227. A spinner
         * costs its worker the canceller's latency (~1 ms: the canceller
         * thread shares two cores with the workers), hence few; cancels
         * of running tasks also come from the "any" and "queued" plans. */
        unsigned x = rbelow(r, 1000);
        plan = x < 200 ? P_QUEUED : x < 203 ? P_RUNNING : x < 423 ? P_SUSPENDED
             : x < 523 ? P_SLEEPING : x < 643 ? P_IO : x < 773 ? P_FINISHED : P_ANY;
    }
    s->plan = plan;
    switch (plan) {
    case P_RUNNING:
        s->beh = B_SPIN;
        break;
    case P_SUSPENDED: {
        static const int b[] = {B_EVENT, B_FUTURE, B_CHAN, B_AWAIT, B_GATHER};
        s->beh = b[rbelow(r, 5)];
        break;
    }
    case P_SLEEPING:
        s->beh = B_SLEEP_LONG;
        break;
    case P_IO:
        s->beh = B_IO;
        break;
    default:
        s->beh = pick_plain_beh(r, plan == P_ANY);
    }
    /* Who cancels: the driver half the time, a canceller coroutine or the
     * canceller thread the rest. A spinner is cancelled from another
     * thread: with one worker only the canceller thread can. */
    unsigned x = rbelow(r, 100);
    s->who = x < 50 ? W_DRIVER : x < 85 ? W_COROUTINE : W_THREAD;
    if (plan == P_RUNNING) /* (the spinner may fall back to the thread) */
        s->who = ph->workers == 1 || rbelow(r, 2) ? W_THREAD : W_COROUTINE;
    if (plan == P_QUEUED || plan == P_FINISHED || plan == P_NONE)
        s->who = W_DRIVER;
    s->k = 0;
    s->sleep_ns = 0;
    s->gather_flags = 0;
    switch (s->beh) {
    case B_YIELD:
        s->k = 1 + (int)rbelow(r, 8);
        break;
    case B_COMPUTE:
        s->k = 1 + (int)rbelow(r, 200);
        break;
    case B_SLEEP:
        s->sleep_ns = short_sleep(r);
        break;
    case B_SLEEP_LONG:
        s->sleep_ns = 30 * BRAID_SEC;
        break;
    case B_AWAIT:
    case B_GATHER: {
        s->k = s->beh == B_AWAIT ? 1 : 2 + (int)rbelow(r, MAXCHILD - 1);
        s->gather_flags = rbelow(r, 2) ? BRAID_GATHER_RETURN_ERRORS : 0;
        for (int j = 0; j < s->k; j++) {
            child *c = &s->kids[j];
            c->parent = s;
            c->j = j;
            atomic_store(&c->started, 0);
            atomic_store(&c->ended, 0);
            atomic_store(&c->stage, S_NEW);
            atomic_store(&c->t, NULL);
            static const int cb[] = {B_RET, B_YIELD, B_EVENT, B_SLEEP};
            /* Provable plans: every child waits on the event. */
            c->beh = plan == P_SUSPENDED ? B_EVENT : cb[rbelow(r, 4)];
            c->k = 1 + (int)rbelow(r, 3);
            c->sleep_ns = c->beh == B_SLEEP ? short_sleep(r) : 0;
        }
        break;
    }
    default:
        break;
    }
    s->cstate = 0;
    s->cdeadline = 0;
    s->cpause = 0;
    s->csecond = false;
    if (plan == P_SUSPENDED || plan == P_SLEEPING || plan == P_IO)
        s->cpause = rbelow(r, 4) == 0 ? (int)rbelow(r, 4) : 0; /* steps from cancel to release */
    if (plan == P_ANY) {
        s->cpause = (int)rbelow(r, 6); /* steps before the cancel */
        s->csecond = rbelow(r, 8) == 0;
    }
    atomic_store(&s->poked_by, -1);
    atomic_store(&s->kick, NULL);
    atomic_store(&s->kick_thread, 0);
    atomic_store(&s->started, 0);
    atomic_store(&s->ended, 0);
    atomic_store(&s->stage, S_NEW);
    atomic_store(&s->saw_cancel, 0);
    atomic_store(&s->cancels, 0);
    atomic_store(&s->recorded, 0);
    atomic_store(&s->must_cancel, 0);
    atomic_store(&s->seen_stage, -1);
    atomic_store(&s->spin, SP_IDLE);
    atomic_store(&s->deleg_done, 0);
    atomic_store(&s->consumed, 0);
    atomic_store(&s->released, 0);
    atomic_store(&s->spin_poked, 0);
    atomic_store(&s->got, 0);
    s->status = 1;
    s->result = 0;
    /* The things it waits on. Event and channel live with the slot (they
     * are cleared between batches); a future serves once. */
    if (s->ev == NULL)
        CHECK(braid_event_new(&s->ev) == 0);
    else
        braid_event_clear(s->ev);
    if (s->ch == NULL)
        CHECK(braid_chan_new(&s->ch, 1) == 0);
    if (s->beh == B_FUTURE)
        CHECK(braid_future_new(&s->fut) == 0);
    if (s->beh == B_IO && s->fd[0] < 0)
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s->fd) == 0);
}

static int moment_of(slot *s)
{
    int st = atomic_load(&s->seen_stage);
    switch (st) {
    case S_NEW:
        return M_QUEUED;
    case S_RUNNING:
        return M_RUNNING;
    case S_WAITING:
        return (s->beh == B_SLEEP || s->beh == B_SLEEP_LONG) ? M_SLEEPING
             : s->beh == B_IO                                ? M_IO
                                                             : M_SUSPENDED;
    default:
        return M_TAIL;
    }
}

/* Check s after it was awaited (status and result in s). */
static void check_slot(slot *s)
{
    int st = s->status;
    int started = atomic_load(&s->started), ended = atomic_load(&s->ended);
    int cancels = atomic_load(&s->cancels);
    CHECK_S(s, braid_task_done(s->t) == 1);
    CHECK_S(s, started <= 1);
    CHECK_S(s, ended == started);
    if (started == 0)
        CHECK_S(s, st == -ECANCELED && atomic_load(&s->recorded) > 0);
    if (st == -ECANCELED) {
        CHECK_S(s, cancels > 0);
        if (started)
            CHECK_S(s, atomic_load(&s->saw_cancel) == 1);
    } else {
        CHECK_S(s, st == 0);
        if (st == 0)
            CHECK_S(s, s->result == expected(s));
    }
    /* Never lost (not for await: the child may absorb it, asyncio). */
    if (atomic_load(&s->must_cancel) && s->beh != B_AWAIT)
        CHECK_S(s, st == -ECANCELED);
    /* Provable cases: cancelled while it spun, or while it waited on
     * something released only after the cancel (for await: after the
     * parent left its await). */
    if (atomic_load(&s->spin_poked) ||
        (s->plan == P_SUSPENDED || s->plan == P_SLEEPING || s->plan == P_IO))
        CHECK_S(s, st == -ECANCELED);
    if (s->beh == B_SLEEP_LONG)
        CHECK_S(s, st == -ECANCELED);
}

/* Await every subject of the batch, in an order (or a way) picked by r. */
static void await_all(driver *d, int n, rng *r)
{
    braid_task *ts[BATCH];
    for (int i = 0; i < n; i++)
        ts[i] = d->slots[i].t;
    unsigned how = rbelow(r, 4);
    if (how == 0) {
        int sts[BATCH];
        int64_t res[BATCH];
        CHECK(braid_gather(ts, (size_t)n, res, sts, BRAID_GATHER_RETURN_ERRORS) == 0);
        for (int i = 0; i < n; i++) {
            slot *s = &d->slots[i];
            s->status = braid_await(s->t, &s->result);
            CHECK_S(s, sts[i] == s->status);
            if (s->status == 0)
                CHECK_S(s, res[i] == s->result);
        }
        return;
    }
    if (how == 1) {
        size_t nd = 0;
        CHECK(braid_wait(ts, (size_t)n, BRAID_WAIT_ALL, BRAID_FOREVER, &nd) == 0);
        CHECK(nd == (size_t)n);
    }
    int order[BATCH];
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = n - 1; i > 0; i--) { /* shuffle */
        int j = (int)rbelow(r, (unsigned)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    if (how == 2) { /* spawn order, mostly: inline runs of unstarted ones */
        for (int i = 0; i < n; i++)
            order[i] = i;
    }
    for (int i = 0; i < n; i++) {
        slot *s = &d->slots[order[i]];
        s->result = 0;
        s->status = braid_await(s->t, &s->result);
    }
}

/* Carried out by a canceller coroutine or the canceller thread. */
static bool is_delegated(slot *s)
{
    return s->who != W_DRIVER && s->plan != P_NONE && s->plan != P_QUEUED && s->plan != P_FINISHED;
}

static void run_batch(driver *d, int n, uint64_t first_id, rng *r, counts *c)
{
    phase *ph = d->ph;
    for (int i = 0; i < n; i++)
        setup_slot(d, &d->slots[i], first_id + (uint64_t)i, r);

    int delegated = 0;
    for (int i = 0; i < n; i++)
        delegated += is_delegated(&d->slots[i]);
    CHECK(braid_event_clear(d->dlg_ev) == 0);
    atomic_store(&d->outstanding, delegated);

    /* Spawn; cancel the "queued" ones at once (a thief may have started
     * one already: then it is a running or finished cancel). */
    for (int i = 0; i < n; i++) {
        slot *s = &d->slots[i];
        CHECK(braid_spawn(&s->t, subject, s) == 0);
        atomic_store(&s->tp, s->t);
        if (s->plan == P_QUEUED)
            cancel_once(s);
        else if (s->plan == P_RUNNING && s->who == W_COROUTINE) {
            /* The spinner hands its plan over itself; wake a canceller
             * coroutine to poll for it. */
            atomic_fetch_add(&ph->spin_pending, 1);
            CHECK(braid_chan_send(ph->reqs, 0) == 0);
        } else if (s->plan == P_RUNNING)
            ; /* the spinner hands its plan to the thread itself */
        else if (is_delegated(s) && s->who == W_COROUTINE) {
            CHECK(braid_chan_send(ph->reqs, (intptr_t)s) == 0);
            for (int k = 0; k < CANCELLERS; k++)
                braid_event_set(ph->cc[k].kick);
        }
        else if (is_delegated(s))
            post_thread(ph, s);
        if (rbelow(r, 16) == 0)
            braid_yield();
    }

    /* The driver's own actions, shuffled: its cancels, the releases of
     * what the non-provable waiters wait for, and yields. */
    int acts[3 * BATCH];
    int na = 0;
    for (int i = 0; i < n; i++) {
        slot *s = &d->slots[i];
        bool provable = s->plan == P_SUSPENDED || s->plan == P_SLEEPING || s->plan == P_IO;
        if (s->who == W_DRIVER && s->plan != P_NONE && s->plan != P_QUEUED && s->plan != P_FINISHED)
            acts[na++] = i; /* cancel */
        if (needs_release(s->beh) && !provable)
            acts[na++] = BATCH + i; /* release */
        if (rbelow(r, 4) == 0)
            acts[na++] = 2 * BATCH; /* yield */
    }
    for (int i = na - 1; i > 0; i--) {
        int j = (int)rbelow(r, (unsigned)i + 1);
        int t = acts[i];
        acts[i] = acts[j];
        acts[j] = t;
    }
    for (int a = 0; a < na; a++) {
        int x = acts[a];
        if (x < BATCH)
            do_cancel(&d->slots[x], true);
        else if (x < 2 * BATCH)
            release(&d->slots[x - BATCH]);
        else
            braid_yield();
    }

    /* Shared channel: feed the receivers and drain the senders until every
     * sender and receiver has ended. */
    unsigned polls = 0;
    for (;;) {
        bool senders = false, receivers = false;
        for (int i = 0; i < n; i++) {
            slot *s = &d->slots[i];
            if ((s->beh == B_SEND || s->beh == B_RECV) && braid_task_done(s->t) != 1) {
                senders |= s->beh == B_SEND;
                receivers |= s->beh == B_RECV;
            }
        }
        if (!senders && !receivers)
            break;
        intptr_t v;
        if (senders && braid_chan_try_recv(d->shared, &v) == 0) {
            d->drained += v;
            polls = 0;
        }
        if (receivers && braid_chan_try_send(d->shared, 1) == 0) {
            d->fillers += 1;
            polls = 0;
        }
        backoff(&polls, true);
    }

    await_all(d, n, r);

    for (int i = 0; i < n; i++) {
        slot *s = &d->slots[i];
        check_slot(s);
        if (s->plan == P_FINISHED) {
            /* After it was awaited: nothing changes. */
            int rc = cancel_once(s);
            CHECK_S(s, rc == 0);
            int64_t v = 0;
            int st = braid_await(s->t, &v);
            CHECK_S(s, st == s->status);
            if (st == 0)
                CHECK_S(s, v == s->result);
        }
    }

    /* The delegates must be done with the slots before they are reused. */
    if (delegated > 0) {
        int e = braid_event_wait_until(d->dlg_ev, braid_now() + 2 * patience());
        CHECK(e == 0);
        if (e != 0) /* do not reuse slots a delegate may still touch */
            while (atomic_load(&d->outstanding) > 0)
                braid_sleep(BRAID_MSEC);
    }
    CHECK(atomic_load(&d->outstanding) == 0);
    for (int i = 0; i < n; i++)
        if (is_delegated(&d->slots[i]))
            CHECK_S(&d->slots[i], atomic_load(&d->slots[i].deleg_done) == 1);

    /* Conservation, counting, clean-up. */
    for (int i = 0; i < n; i++) {
        slot *s = &d->slots[i];
        int consumed = atomic_load(&s->consumed);
        if (s->beh == B_CHAN) {
            intptr_t v = 0;
            int left = braid_chan_try_recv(s->ch, &v) == 0;
            CHECK_S(s, left + consumed == 1);
            if (left)
                CHECK_S(s, v == val_of(s->id));
        } else if (s->beh == B_IO) {
            unsigned char b[4];
            ssize_t left = read(s->fd[0], b, sizeof b);
            if (left < 0)
                left = 0;
            CHECK_S(s, left + consumed == 1);
            if (left == 1)
                CHECK_S(s, b[0] == byte_of(s->id));
        } else if (s->beh == B_SEND && consumed) {
            d->sent_sum += val_of(s->id);
        } else if (s->beh == B_RECV && consumed) {
            d->recv_sum += atomic_load(&s->got);
        }
        if (s->beh == B_FUTURE) {
            braid_future_free(s->fut);
            s->fut = NULL;
        }

        c->subjects++;
        if (s->beh == B_AWAIT || s->beh == B_GATHER)
            c->children += atomic_load(&s->started) ? s->k : 0;
        c->started += atomic_load(&s->started);
        int cancels = atomic_load(&s->cancels), rec = atomic_load(&s->recorded);
        bool won = s->status == -ECANCELED;
        c->issued += cancels;
        c->recorded += rec;
        c->won += won;
        if (s->plan != P_NONE) {
            c->plan_issued[s->plan] += cancels > 0;
            c->plan_won[s->plan] += won;
            c->by_who[s->who]++;
        }
        if (rec > 0) {
            int m = moment_of(s);
            c->by_moment[m]++;
            c->won_by_moment[m] += won;
        } else if (cancels > 0) {
            c->by_moment[M_FINISHED]++;
        }
        if (s->plan == P_RUNNING) {
            if (atomic_load(&s->spin_poked)) {
                c->spin_poked++;
                c->spin_by_coroutine += atomic_load(&s->poked_by) == W_COROUTINE;
            } else {
                c->spin_missed++;
            }
        }
        if (s->plan == P_SUSPENDED || s->plan == P_SLEEPING || s->plan == P_IO ||
            atomic_load(&s->spin_poked))
            c->provable++;
        braid_task_release(s->t);
        s->t = NULL;
        atomic_store(&s->tp, NULL);
    }
}

static int64_t driver_body(void *arg)
{
    driver *d = arg;
    phase *ph = d->ph;
    rng r = {mix(ph->seed ^ ((uint64_t)ph->pct << 40) ^ ((uint64_t)d->index << 32))};
    CHECK(braid_chan_new(&d->shared, 4) == 0);
    CHECK(braid_event_new(&d->dlg_ev) == 0);
    for (int i = 0; i < BATCH; i++) {
        d->slots[i].fd[0] = d->slots[i].fd[1] = -1;
        d->slots[i].ev = NULL;
        d->slots[i].ch = NULL;
        d->slots[i].fut = NULL;
    }
    counts c = {0};
    for (long done = 0; done < d->tasks;) {
        int n = d->tasks - done < BATCH ? (int)(d->tasks - done) : BATCH;
        run_batch(d, n, d->first_id + (uint64_t)done, &r, &c);
        done += n;
        if (atomic_load(&failures) > 50)
            break; /* enough said */
    }
    /* What is left in the shared channel balances the sums. */
    intptr_t v;
    while (braid_chan_try_recv(d->shared, &v) == 0)
        d->drained += v;
    CHECK(d->sent_sum + d->fillers == d->recv_sum + d->drained);
    braid_chan_free(d->shared); /* (dlg_ev: freed after the phase, see run_phase) */
    for (int i = 0; i < BATCH; i++) {
        slot *s = &d->slots[i];
        braid_event_free(s->ev);
        braid_chan_free(s->ch);
        if (s->fd[0] >= 0) {
            close(s->fd[0]);
            close(s->fd[1]);
        }
    }
    pthread_mutex_lock(&ph->cm);
    counts *t = &ph->c;
    t->subjects += c.subjects;
    t->children += c.children;
    t->issued += c.issued;
    t->recorded += c.recorded;
    t->won += c.won;
    t->started += c.started;
    for (int m = 0; m < M_COUNT; m++) {
        t->by_moment[m] += c.by_moment[m];
        t->won_by_moment[m] += c.won_by_moment[m];
    }
    for (int p = 0; p < P_COUNT; p++) {
        t->plan_issued[p] += c.plan_issued[p];
        t->plan_won[p] += c.plan_won[p];
    }
    for (int w = 0; w < W_COUNT; w++)
        t->by_who[w] += c.by_who[w];
    t->spin_poked += c.spin_poked;
    t->spin_missed += c.spin_missed;
    t->spin_by_coroutine += c.spin_by_coroutine;
    t->provable += c.provable;
    pthread_mutex_unlock(&ph->cm);
    return 0;
}

static int64_t phase_root(void *arg)
{
    phase *ph = arg;
    CHECK(braid_chan_new(&ph->reqs, 64) == 0);
    braid_task *cc[CANCELLERS], *dt[DRIVERS];
    for (int i = 0; i < CANCELLERS; i++) {
        ph->cc[i].ph = ph;
        ph->cc[i].index = i;
        atomic_store(&ph->cc[i].worker, -1);
        atomic_store(&ph->cc[i].active, 1);
        atomic_store(&ph->cc[i].mbox, NULL);
        CHECK(braid_event_new(&ph->cc[i].kick) == 0);
        CHECK(braid_spawn(&cc[i], canceller_coroutine, &ph->cc[i]) == 0);
    }
    long per = ph->tasks / DRIVERS;
    for (int i = 0; i < DRIVERS; i++) {
        driver *d = &ph->drivers[i];
        d->ph = ph;
        d->index = i;
        d->first_id = (uint64_t)ph->pct * 1000000000ULL + (uint64_t)i * (uint64_t)per;
        d->tasks = i == DRIVERS - 1 ? ph->tasks - per * (DRIVERS - 1) : per;
        CHECK(braid_spawn(&dt[i], driver_body, d) == 0);
    }
    for (int i = 0; i < DRIVERS; i++) {
        CHECK(braid_await(dt[i], NULL) == 0);
        braid_task_release(dt[i]);
    }
    CHECK(braid_chan_close(ph->reqs) == 0);
    for (int i = 0; i < CANCELLERS; i++) {
        CHECK(braid_await(cc[i], NULL) == 0);
        braid_task_release(cc[i]);
    }
    braid_chan_free(ph->reqs);
    return 0;
}

static int run_phase(braid_rt *rt, unsigned workers, uint64_t seed, int pct, long tasks)
{
    long before = atomic_load(&failures);
    phase *ph = calloc(1, sizeof *ph);
    if (ph == NULL)
        return 1;
    ph->rt = rt;
    ph->workers = workers;
    ph->pct = pct;
    ph->seed = seed;
    ph->tasks = tasks;
    ph->spin_ns = 2 * BRAID_MSEC;
    pthread_mutex_init(&ph->qm, NULL);
    pthread_cond_init(&ph->qc, NULL);
    pthread_mutex_init(&ph->cm, NULL);
    braid_stats s0, s1;
    braid_rt_stats(rt, &s0);
    int64_t t0 = braid_now();
    pthread_t th;
    CHECK(pthread_create(&th, NULL, canceller_thread, ph) == 0);
    CHECK(braid_rt_block_on(rt, phase_root, ph, NULL) == 0);
    pthread_mutex_lock(&ph->qm);
    ph->qstop = true;
    pthread_cond_signal(&ph->qc);
    pthread_mutex_unlock(&ph->qm);
    pthread_join(th, NULL);
    /* Events that delegates and subjects set: free them only now, when
     * no braid_event_set on them can still be running. */
    for (int i = 0; i < CANCELLERS; i++)
        braid_event_free(ph->cc[i].kick);
    for (int i = 0; i < DRIVERS; i++)
        braid_event_free(ph->drivers[i].dlg_ev);
    int64_t ms = (braid_now() - t0) / BRAID_MSEC;
    braid_rt_stats(rt, &s1);
    counts *c = &ph->c;
    CHECK(c->subjects == tasks);
    printf("storm_cancel: phase %d%%: %ld tasks (%ld subjects, %ld children), %ld cancels issued, "
           "%ld recorded, %ld won, started %ld, spawned %llu, switches %llu, steals %llu, "
           "%lld ms\n",
           pct, c->subjects + c->children, c->subjects, c->children, c->issued, c->recorded, c->won,
           c->started, (unsigned long long)(s1.spawned - s0.spawned),
           (unsigned long long)(s1.switches - s0.switches),
           (unsigned long long)(s1.stolen - s0.stolen), (long long)ms);
    printf("storm_cancel: phase %d%% moments (recorded/won):", pct);
    for (int m = 0; m < M_COUNT; m++)
        printf(" %s %ld/%ld", moment_name[m], c->by_moment[m], c->won_by_moment[m]);
    printf("; plans (issued/won):");
    for (int p = 1; p < P_COUNT; p++)
        printf(" %s %ld/%ld", plan_name[p], c->plan_issued[p], c->plan_won[p]);
    printf("; provable %ld; spinners poked %ld (%ld by a coroutine), missed %ld; plans by driver "
           "%ld, coroutine %ld, thread %ld\n",
           c->provable, c->spin_poked, c->spin_by_coroutine, c->spin_missed, c->by_who[W_DRIVER],
           c->by_who[W_COROUTINE], c->by_who[W_THREAD]);
    fflush(stdout);
    pthread_mutex_destroy(&ph->qm);
    pthread_cond_destroy(&ph->qc);
    pthread_mutex_destroy(&ph->cm);
    free(ph);
    return atomic_load(&failures) != before;
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 12345;
    long tasks = argc > 2 ? atol(argv[2]) : 1000000;
    unsigned workers = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
    printf("storm_cancel: seed %llu, %ld tasks per phase, %u workers\n", (unsigned long long)seed,
           tasks, workers);
    fflush(stdout);
    int passed = 0, failed = 0;
    braid_rt *rt;
    if (stress_rt_new(&rt, workers, seed) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    static const int pcts[] = {10, 50, 90};
    int64_t t0 = braid_now();
    for (int i = 0; i < 3; i++) {
        if (run_phase(rt, workers, seed, pcts[i], tasks) == 0)
            passed++;
        else
            failed++;
    }
    long before = atomic_load(&failures);
    braid_stats st;
    braid_rt_stats(rt, &st);
    CHECK(st.live == 0);
    CHECK(st.spawned == st.completed);
    printf("storm_cancel: total: %llu tasks, %llu switches, %llu steals, %llu parks, %lld ms\n",
           (unsigned long long)st.spawned, (unsigned long long)st.switches,
           (unsigned long long)st.stolen, (unsigned long long)st.parks,
           (long long)((braid_now() - t0) / BRAID_MSEC));
    CHECK(braid_rt_free(rt) == 0);
    if (atomic_load(&failures) == before)
        passed++;
    else
        failed++;
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
