/* fuzz_api.c - libFuzzer harness for braid's public API.
 *
 * One runtime with one worker, made once. Each input is a small program run
 * by braid_rt_block_on: its bytes are read through one shared cursor by
 * whichever coroutine runs next, each byte an operation (spawn, await,
 * cancel, yield, sleep, channel, mutex, event, semaphore, condition,
 * barrier, future, gather, wait, waitset, group, blocking pool, call_soon,
 * call_later, braid_fail, ...), later bytes its arguments. So the input
 * chooses the scheduling: who yields, blocks, spawns, awaits and cancels
 * what, and when. On one worker only one coroutine runs at a time, so the
 * harness keeps a model of every object beside the real one (who owns the
 * mutex, who waits where in which order, what the channel holds, which task
 * has a cancellation pending, through inline-await chains) and checks every
 * result against it when the call returns. After the program the root
 * cancels and awaits everything still alive, drains and checks the channel,
 * and the main thread checks that the runtime's live task and stack counts
 * are back to zero.
 *
 * The model is exact wherever the schedule cannot change the answer; where
 * the library cancels tasks by itself at moments the harness cannot see
 * (await and wait_for pass a cancellation on, a group cancels members) the
 * affected cancellation flags become "maybe" and are checked loosely until
 * an observation settles them.
 *
 * Progress: the root and anything it runs inline never block without a
 * deadline (their deadlines are "already past" or a few microseconds away),
 * so the root always reaches the end of the input and cleans up; other
 * coroutines may block forever only while nothing may cancel them and they
 * hold no mutex, so cancelling them ends them.
 *
 * Any violation prints what went wrong and aborts (libFuzzer saves the
 * input as a crash); a watchdog reports an input that runs too long.
 * Environment: FUZZ_TRACE=1 prints every operation (2: keeps them, printed
 * only for a failing or hanging input), FUZZ_WATCHDOG=S sets the hang
 * limit, FUZZ_AVOID leaves groups of operations out (see `avoid`).
 * How to run and replay: README.md beside this file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "braid.h"

#define NSLOT 8
#define ROOT NSLOT
#define NREC (NSLOT + 1)
#define MAX_INPUT 512
#define ROOT_MAGIC 0x5eed
#define NFUT 2

/* ---- failure reports ----------------------------------------------------- */

static void fuzz_vfail(int line, const char *cond, const char *fmt, va_list ap)
    __attribute__((noreturn));

static void trace_dump(void);
static volatile int wd_fired; /* the watchdog is reporting a hang */

static void fuzz_vfail(int line, const char *cond, const char *fmt, va_list ap)
{
    if (wd_fired) /* the watchdog's shutdown woke us: it reports and aborts */
        for (;;)
            pause();
    trace_dump();
    fprintf(stderr, "fuzz_api.c:%d: invariant violated: ", line);
    if (cond != NULL)
        fprintf(stderr, "(%s) ", cond);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

static void fuzz_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void fuzz_fail(int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fuzz_vfail(line, NULL, fmt, ap);
}

static void check_fail(int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
static void check_fail(int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fuzz_vfail(line, cond, fmt, ap);
}

#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (!(cond))                                                                             \
            check_fail(__LINE__, #cond, __VA_ARGS__);                                            \
    } while (0)

/* ---- the model ----------------------------------------------------------- */

enum { CP_NO, CP_YES, CP_MAYBE }; /* a task's cancellation flag, as far as we know */
enum { K_BODY, K_SOON, K_LATER }; /* a coroutine running ops; call_soon; call_later */

typedef struct rec {
    int idx;        /* slot 0..NSLOT-1, or ROOT */
    bool used;      /* the slot holds a task */
    int kind;
    braid_task *t;  /* our handle (borrowed from the group if in_group) */
    bool in_group;
    int busy;       /* calls in progress that use t: the slot may not be freed */
    uint8_t policy; /* bit 0: a body ends with -ECANCELED when an op of its own is cancelled */
    /* Lifecycle. For callbacks "started" and "ended" mean the callback ran. */
    bool started, ended;
    bool unstarted_end; /* seen ending without running (cancelled before it started) */
    struct rec *parent; /* while running inline: the task whose stack we run on */
    struct rec *inline_by;
    int64_t ret;
    bool failed;
    char msg[32];
    int nops;
    /* Cancellation. */
    int cp;
    int incoming;   /* open windows in which the library may cancel us */
    bool may_cancel;/* a cancellation may have been requested at some point */
    /* An await-like call that may pass a cancellation on to its targets. */
    bool passing, armed;
    uint16_t pass_mask;
    /* A blocked call on a sync object: decided by another coroutine. */
    bool granted;
    int gresult;
    intptr_t gvalue;
    bool cond_notified;
    int in_op;      /* the op running now (-1: none), for the watchdog */
    unsigned ncancel; /* cancellation requests the model saw for this task */
} rec;

typedef struct fifo {
    int n;
    int who[NREC];
    intptr_t val[NREC];
} fifo;

static void fifo_push(fifo *q, int who, intptr_t v)
{
    CHECK(q->n < NREC, "queue overflow");
    q->who[q->n] = who;
    q->val[q->n] = v;
    q->n++;
}

static void fifo_del(fifo *q, int i)
{
    for (int k = i + 1; k < q->n; k++) {
        q->who[k - 1] = q->who[k];
        q->val[k - 1] = q->val[k];
    }
    q->n--;
}

static int fifo_find(const fifo *q, int who)
{
    for (int i = 0; i < q->n; i++)
        if (q->who[i] == who)
            return i;
    return -1;
}

/* FUZZ_AVOID (environment, comma-separated): leave out a group of
 * operations, to step around a library bug while looking for others (or to
 * check that a failure needs that group). Empty by default, and CI leaves
 * nothing out. The groups are those of three bugs the harness found, all
 * fixed:
 * "callbacks": no call_soon / call_later (cancelling one before it started
 * leaked its callback record);
 * "wait-cancel": braid_wait, gather, group_wait and waitset_next are not
 * checked for a cancellation that races a completion (they dropped it; now
 * they put it back on the caller, obs_ws_done), and never wait without a
 * deadline;
 * "inline-cancel": tasks running inline never wait without a deadline, nor
 * for running tasks (braid_cancel of a task running others inline could
 * wake a finished task instead of the innermost waiting one). */
static struct {
    bool callbacks;
    bool wait_cancel; /* "wait-cancel": no check of a cancel racing a completion */
    bool inline_cancel; /* "inline-cancel": inline chains never wait for long */
} avoid;

/* FUZZ_TRACE=1: print every operation and what it returned (for replays).
 * FUZZ_TRACE=2: keep the current input's trace in memory and print it only
 * when the input fails or hangs (for failures that depend on timing and do
 * not come back on a replay: run the fuzzer itself with it). */
static bool trace;
static bool trace_mem;
static char *tbuf;
static size_t tlen, tcap;

static void tr_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tr_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!trace_mem) {
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        return;
    }
    for (;;) {
        size_t room = tcap - tlen;
        va_list aq;
        va_copy(aq, ap);
        int n = tbuf != NULL ? vsnprintf(tbuf + tlen, room, fmt, aq) : -1;
        va_end(aq);
        if (n >= 0 && (size_t)n < room) {
            tlen += (size_t)n;
            break;
        }
        size_t cap = tcap ? 2 * tcap : 1 << 16;
        char *nb = realloc(tbuf, cap);
        if (nb == NULL)
            break;
        tbuf = nb;
        tcap = cap;
    }
    va_end(ap);
}

static void trace_dump(void)
{
    if (trace_mem && tbuf != NULL && tlen > 0) {
        fputs("---- trace of this input ----\n", stderr);
        fwrite(tbuf, 1, tlen, stderr);
        fputs("---- end of trace ----\n", stderr);
    }
}

#define TR(...)                                                                                  \
    do {                                                                                         \
        if (trace)                                                                               \
            tr_printf(__VA_ARGS__);                                                              \
    } while (0)

static struct {
    braid_rt *rt;
    const uint8_t *data;
    size_t size, pos;
    rec r[NREC];
    rec *cur;           /* the coroutine running harness code, NULL while in a braid call */
    rec *inline_expect; /* an awaiter expects this task to start inline, now */
    rec *inline_awaiter;
    uint64_t inlined0;  /* braid_stats.inlined when that await began */
    int detached_live;
    int64_t soon_ran;   /* callbacks that ran, for the detached kind */
    bool cleanup;

    braid_event *ev;
    bool ev_set;
    uint16_t ev_waiters;

    braid_mutex *m1;
    int m1_owner;
    fifo m1_q;

    braid_sem *sem;
    long sem_count, sem_max;
    fifo sem_q;

    braid_chan *ch;
    int ch_cap;
    intptr_t ch_buf[8];
    int ch_head, ch_n;
    fifo ch_sq, ch_rq;
    bool ch_closed;
    intptr_t ch_next;

    braid_future *fut[NFUT];
    int f_state[NFUT];
    int64_t f_value[NFUT];
    int f_err[NFUT];
    uint16_t f_waiters[NFUT];
    int f_cbs[NFUT][16];
    int f_ncb[NFUT];
    int cblog[16];
    int ncblog;
    int cb_next;

    braid_mutex *m2;
    braid_cond *cond;
    int m2_holder;
    int m2_lockers;
    uint16_t in_cond;

    braid_barrier *bar;
    int bar_parties, bar_arrived;
    fifo bar_q;

    braid_group *grp;
    int g_cancelling; /* CP_NO, CP_YES, CP_MAYBE */
    int g_waiting;
    rec *g_waiter;
    int g_n;
    int g_mem[NSLOT];
} g;

static rec *R(int i) { return &g.r[i]; }

/* ---- the shared cursor --------------------------------------------------- */

static int rd(void)
{
    if (g.pos >= g.size)
        return -1;
    return g.data[g.pos++];
}

static int arg(void)
{
    int b = rd();
    return b < 0 ? 0 : b;
}

/* ---- bracketing braid calls that may switch ------------------------------ */

static void before(rec *r)
{
    CHECK(g.cur == r, "harness code of two coroutines interleaved (cur %d, me %d)",
          g.cur ? g.cur->idx : -1, r->idx);
    g.cur = NULL;
}

static void after(rec *r)
{
    CHECK(g.cur == NULL, "coroutine %d resumed while %d runs harness code", r->idx,
          g.cur ? g.cur->idx : -1);
    g.cur = r;
    g.inline_expect = NULL;
}

/* ---- cancellation model -------------------------------------------------- */

static int eff(const rec *c) { return c->incoming > 0 ? CP_MAYBE : c->cp; }

static bool in_chain(const rec *r, const rec *x)
{
    for (const rec *c = r; c != NULL; c = c->parent)
        if (c == x)
            return true;
    return false;
}

/* What braid__take_cancel would answer now: the nearest flag up the
 * inline chain. */
static int pred_take(const rec *r)
{
    for (const rec *c = r; c != NULL; c = c->parent) {
        int e = eff(c);
        if (e != CP_NO)
            return e;
    }
    return CP_NO;
}

static bool chain_may(const rec *r) { return pred_take(r) != CP_NO; }

/* A take happened (took) or found nothing (!took). */
static void obs_take(rec *r, bool took, int line)
{
    if (took) {
        rec *c = r;
        while (c != NULL && eff(c) == CP_NO)
            c = c->parent;
        if (c == NULL)
            fuzz_fail(line, "coroutine %d got -ECANCELED with no cancellation pending", r->idx);
        if (eff(c) == CP_YES) {
            c->cp = CP_NO;
            return;
        }
        if (c->incoming == 0)
            c->cp = CP_NO;
        for (c = c->parent; c != NULL; c = c->parent)
            if (c->cp == CP_YES)
                c->cp = CP_MAYBE;
        return;
    }
    for (rec *c = r; c != NULL; c = c->parent) {
        if (eff(c) == CP_YES)
            fuzz_fail(line, "coroutine %d: a waiting call did not report the cancellation of %d",
                      r->idx, c->idx);
        if (c->incoming == 0)
            c->cp = CP_NO;
    }
}

/* A grant won: a take may have happened, and then the request was put back
 * on the caller itself (braid__rearm_cancel). */
static void obs_grant(rec *r)
{
    rec *c = r;
    while (c != NULL && eff(c) == CP_NO)
        c = c->parent;
    if (c == NULL)
        return;
    if (eff(c) == CP_YES) {
        if (c != r)
            c->cp = CP_NO;
        r->cp = CP_YES;
        return;
    }
    if (c != r && c->incoming == 0)
        c->cp = CP_NO;
    for (rec *d = c->parent; d != NULL; d = d->parent)
        if (d->cp == CP_YES)
            d->cp = CP_MAYBE;
    r->cp = CP_MAYBE;
}

/* Either nothing happened (a fast path) or a grant won (obs_grant). */
static void obs_unknown(rec *r);
static void obs_maybe_grant(rec *r)
{
    if (eff(r) != CP_NO)
        return; /* ours is the nearest flag: it stays either way */
    obs_unknown(r);
}

/* Anything may have happened to the chain's flags (several takes). */
static void obs_unknown(rec *r)
{
    bool any = false;
    for (rec *c = r; c != NULL; c = c->parent) {
        if (eff(c) != CP_NO)
            any = true;
        if (c->cp == CP_YES)
            c->cp = CP_MAYBE;
    }
    if (any && r->cp == CP_NO)
        r->cp = CP_MAYBE;
}

/* A call built on waitsets (waitset_next, and braid_wait, gather and
 * group_wait on top of it) returned a completion, not -ECANCELED or
 * -ETIMEDOUT; p0 is what pred_take said when the call began. A waitset parks
 * only when nothing is ready, and every park ends with a take: if that take
 * found a cancellation and a completion had come too, the completion wins
 * and the request is put back on the caller itself (braid__rearm_cancel:
 * not dropped, pending for its next waiting call, as a grant on a sync
 * object). So:
 *  - p0 YES: nothing can complete between the call's start and its first
 *    park (one worker, no switch), and that park takes at once and returns
 *    -ECANCELED; a completion returned means it never parked: no flag moved;
 *  - p0 NO: each park's take saw every request made while it was parked
 *    (the harness code of other coroutines runs only then): obs_grant;
 *  - p0 MAYBE: either. */
static void obs_ws_done(rec *r, int p0)
{
    if (avoid.wait_cancel) {
        obs_unknown(r);
        return;
    }
    if (p0 == CP_YES)
        return;
    if (p0 == CP_NO)
        obs_grant(r);
    else
        obs_maybe_grant(r);
}

static void cancel_hits(rec *x);

static void arm(rec *p)
{
    p->armed = true;
    for (int i = 0; i < NSLOT; i++) {
        if (!(p->pass_mask & (1u << i)))
            continue;
        rec *t = R(i);
        t->incoming++;
        t->may_cancel = true;
        cancel_hits(t);
    }
}

/* A cancellation may now reach x: every await-like call whose caller's
 * chain holds x may pass it on to its targets. */
static void cancel_hits(rec *x)
{
    for (int i = 0; i < NREC; i++) {
        rec *p = R(i);
        if (p->passing && !p->armed && in_chain(p, x))
            arm(p);
    }
}

static void model_cancel(rec *t) /* braid_cancel(t) recorded a request */
{
    if (t->ended)
        return;
    t->ncancel++;
    t->cp = CP_YES;
    t->may_cancel = true;
    cancel_hits(t);
}

static void model_cancel_maybe(rec *t)
{
    if (t->ended)
        return;
    t->ncancel++;
    if (t->cp == CP_NO)
        t->cp = CP_MAYBE;
    t->may_cancel = true;
    cancel_hits(t);
}

static unsigned chain_ncancel(const rec *r)
{
    unsigned n = 0;
    for (const rec *c = r; c != NULL; c = c->parent)
        n += c->ncancel + (unsigned)c->incoming;
    return n;
}

static void pass_begin(rec *r, uint16_t mask, bool arm_now)
{
    r->passing = true;
    r->armed = false;
    r->pass_mask = mask;
    for (int i = 0; i < NSLOT; i++)
        if (mask & (1u << i))
            R(i)->busy++;
    if (arm_now || chain_may(r))
        arm(r);
}

static void pass_end(rec *r)
{
    for (int i = 0; i < NSLOT; i++) {
        if (!(r->pass_mask & (1u << i)))
            continue;
        rec *t = R(i);
        t->busy--;
        if (r->armed) {
            t->incoming--;
            if (!t->ended)
                t->cp = CP_MAYBE;
        }
    }
    r->passing = false;
    r->armed = false;
    r->pass_mask = 0;
}

/* ---- small predicates ---------------------------------------------------- */

static bool holds_mutex(const rec *c) { return g.m1_owner == c->idx || g.m2_holder == c->idx; }

/* May r block without a deadline? Never the root and what it runs inline
 * (the root must reach its cleanup), never a task that may be cancelled
 * (a cancelled task must end in bounded time: others may wait for it
 * without a deadline), never while the chain holds a mutex. */
static bool forever_ok(const rec *r)
{
    if (g.cleanup || (avoid.inline_cancel && r->parent != NULL))
        return false;
    for (const rec *c = r; c != NULL; c = c->parent) {
        if (c->idx == ROOT || c->may_cancel || eff(c) != CP_NO || holds_mutex(c))
            return false;
    }
    return true;
}

/* The same for the calls built on waitsets (gather, wait, waitset_next,
 * group_wait): a cancellation they drop (FUZZ_AVOID=wait-cancel) could
 * leave them waiting forever. */
static bool ws_forever_ok(const rec *r) { return forever_ok(r) && !avoid.wait_cancel; }

static int64_t pick_dl(const rec *r, int a)
{
    switch (a & 7) {
    case 1:
    case 5:
        return forever_ok(r) ? BRAID_FOREVER : 0;
    case 2:
        return braid_now() + 500 + (int64_t)(a >> 3) * 100; /* a real timer, tiny */
    case 3:
        return -1;
    default:
        return 0; /* already past: fires at the next look at the timers */
    }
}

/* The status a task's awaiters must see. */
static int status_of(const rec *t)
{
    if (t->unstarted_end)
        return -ECANCELED;
    if (t->kind != K_BODY)
        return t->started ? 0 : -ECANCELED;
    if (t->ret < 0)
        return t->ret < INT32_MIN ? INT32_MIN : (int)t->ret;
    return 0;
}

static bool ended(const rec *t) { return t->ended || t->unstarted_end; }

/* May t have ended without our seeing it (cancelled before it started: its
 * queue entry is consumed at a moment we do not see)? */
static bool may_end_unseen(const rec *t)
{
    if (ended(t))
        return false;
    if (t->kind == K_BODY || t->kind == K_SOON)
        return !t->started && t->may_cancel;
    return t->may_cancel; /* call_later: its body sleeps first, we see only the callback */
}

/* rc/res is a status reported for t: check it, and learn from it. */
static void check_status(const rec *who, rec *t, int rc, int64_t res, int line)
{
    if (!ended(t)) {
        if (may_end_unseen(t) && rc == -ECANCELED) {
            t->unstarted_end = true;
            return;
        }
        fuzz_fail(line, "%d: status %d of task %d, which has not ended", who->idx, rc, t->idx);
    }
    int want = status_of(t);
    if (rc != want)
        fuzz_fail(line, "%d: status of task %d is %d, want %d", who->idx, t->idx, rc, want);
    if (rc == 0 && t->kind == K_BODY && res != t->ret)
        fuzz_fail(line, "%d: result of task %d is %" PRId64 ", want %" PRId64, who->idx, t->idx,
                  res, t->ret);
    const char *m = braid_task_message(t->t);
    if (t->failed && !t->unstarted_end) {
        if (m == NULL || strcmp(m, t->msg) != 0)
            fuzz_fail(line, "message of task %d is %s, want %s", t->idx, m ? m : "NULL", t->msg);
    } else if (m != NULL) {
        fuzz_fail(line, "task %d has message %s, but never failed", t->idx, m);
    }
}

/* ---- blocked calls on sync objects -------------------------------------- */

static void grant(int who, int result, intptr_t v)
{
    rec *w = R(who);
    CHECK(!w->granted, "granted twice");
    w->granted = true;
    w->gresult = result;
    w->gvalue = v;
}

/* A call that was queued and not granted returned rc. */
static void blocked_fail(rec *r, int rc, int64_t dl, int line)
{
    if (rc == -ECANCELED) {
        obs_take(r, true, line);
    } else if (rc == -ETIMEDOUT) {
        if (dl == BRAID_FOREVER)
            fuzz_fail(line, "coroutine %d: -ETIMEDOUT without a deadline", r->idx);
        obs_take(r, false, line);
    } else {
        fuzz_fail(line, "coroutine %d: a queued call that nobody granted returned %d", r->idx, rc);
    }
}

/* ---- the program --------------------------------------------------------- */

static int64_t body(void *arg);
static void interp(rec *r);

static int free_slot(void)
{
    for (int i = 0; i < NSLOT; i++)
        if (!R(i)->used)
            return i;
    return -1;
}

static void rec_init(rec *t, int idx, int kind, uint8_t policy)
{
    memset(t, 0, sizeof *t);
    t->in_op = -1;
    t->idx = idx;
    t->used = true;
    t->kind = kind;
    t->policy = policy;
}

static rec *pick_slot(int a)
{
    rec *t = R(a % NSLOT);
    return t->used ? t : NULL;
}

static uint16_t pick_mask(int a)
{
    uint16_t m = 0;
    for (int i = 0; i < NSLOT; i++)
        if ((a & (1 << i)) && R(i)->used)
            m |= (uint16_t)(1u << i);
    return m;
}

/* The tasks of a mask, in slot order; self and inline ancestors left out
 * (waiting on them would wait for ourselves). */
static int mask_tasks(rec *r, uint16_t *mask, braid_task **ts, rec **rs, int dup)
{
    int n = 0;
    for (int i = 0; i < NSLOT; i++) {
        if (!(*mask & (1u << i)))
            continue;
        if (in_chain(r, R(i))) {
            *mask &= (uint16_t)~(1u << i);
            continue;
        }
        ts[n] = R(i)->t;
        rs[n] = R(i);
        n++;
    }
    if (dup && n > 0) { /* the same task twice in one set */
        ts[n] = ts[0];
        rs[n] = rs[0];
        n++;
    }
    return n;
}

static bool all_ended(uint16_t mask)
{
    for (int i = 0; i < NSLOT; i++)
        if ((mask & (1u << i)) && !ended(R(i)))
            return false;
    return true;
}

static void busy_mask(uint16_t mask, int d)
{
    for (int i = 0; i < NSLOT; i++)
        if (mask & (1u << i))
            R(i)->busy += d;
}

/* ---- callbacks ----------------------------------------------------------- */

static void soon_cb(void *arg)
{
    rec *t = arg;
    CHECK(!t->started, "callback of slot %d ran twice", t->idx);
    CHECK(t->cp != CP_YES, "callback of slot %d ran after a cancel before it started", t->idx);
    t->started = true;
    t->ended = true;
}

static void fut_cb(braid_future *f, void *arg)
{
    int v = (int)(intptr_t)arg;
    CHECK(f == g.fut[v >> 8], "callback for the wrong future");
    CHECK(g.ncblog < 16, "too many callbacks");
    g.cblog[g.ncblog++] = v;
}

static int64_t pool_fn(void *arg) { return (int64_t)(intptr_t)arg; }

static int64_t detached_body(void *arg)
{
    (void)arg;
    CHECK(g.detached_live > 0, "detached count");
    g.detached_live--;
    return 0;
}

/* ---- await-like calls ---------------------------------------------------- */

enum { AW_AWAIT, AW_UNTIL, AW_WAIT_FOR, AW_SHIELD };

static void do_await(rec *r, rec *t, int how, int a)
{
    int64_t res = -12345;
    int rc;
    TR("[%d]   %s of %d (kind %d%s%s, arg %d)\n", r->idx,
       how == AW_AWAIT ? "await" : how == AW_UNTIL ? "await_until" : how == AW_WAIT_FOR ? "wait_for"
                                                                                       : "shield",
       t->idx, t->kind, t->started ? ", started" : "", ended(t) ? ", ended" : "", a);
    if (t == r || in_chain(r, t)) { /* itself, or a task running us inline */
        before(r);
        switch (how) {
        case AW_AWAIT: rc = braid_await(t->t, &res); break;
        case AW_UNTIL: rc = braid_await_until(t->t, &res, 0); break;
        case AW_WAIT_FOR: rc = braid_wait_for(t->t, 0, &res); break;
        default: rc = braid_shield(t->t, &res); break;
        }
        after(r);
        CHECK(rc == -EDEADLK, "awaiting self/ancestor %d from %d gave %d", t->idx, r->idx, rc);
        return;
    }
    if (how == AW_AWAIT) {
        if (ended(t)) {
            before(r);
            rc = braid_await(t->t, &res);
            after(r);
            check_status(r, t, rc, res, __LINE__);
            return;
        }
        if (!t->started && t->kind != K_LATER) {
            /* Not started: it runs inline now on our stack, or, if it was
             * cancelled, ends -ECANCELED without running. */
            int pc = eff(t);
            t->busy++;
            braid_stats st;
            CHECK(braid_rt_stats(g.rt, &st) == 0, "stats");
            g.inlined0 = st.inlined;
            g.inline_expect = t;
            g.inline_awaiter = r;
            before(r);
            rc = braid_await(t->t, &res);
            after(r);
            t->busy--;
            if (t->started) {
                CHECK(t->kind != K_BODY || t->inline_by == r,
                      "task %d started while %d awaited it, not inline", t->idx, r->idx);
                CHECK(pc != CP_YES, "task %d ran although cancelled before it started", t->idx);
                check_status(r, t, rc, res, __LINE__);
            } else {
                CHECK(pc != CP_NO || t->may_cancel, "await of unstarted task %d did not run it (rc %d)",
                      t->idx, rc);
                CHECK(rc == -ECANCELED, "unstarted cancelled task %d: status %d", t->idx, rc);
                t->unstarted_end = true;
            }
            return;
        }
        if (t->kind == K_LATER && !t->started) {
            /* A call_later task: its body may not have started (then it runs
             * inline and its sleep may take our chain's cancellation) or may
             * sleep. Either way it ends soon. */
            /* A cancellation of our chain during the await passes on to t
             * (braid_await does, as asyncio's await; inline, t's sleep takes
             * it from the chain): t may be cancelled, which its other
             * awaiters must know (pass_begin arms it). */
            int p0 = pred_take(r);
            pass_begin(r, (uint16_t)(1u << t->idx), false);
            before(r);
            rc = braid_await(t->t, &res);
            after(r);
            bool armed = r->armed;
            pass_end(r);
            TR("[%d]   await of call_later %d -> %d\n", r->idx, t->idx, rc);
            /* -ECANCELED is t's status, or ours: after passing a
             * cancellation on, the await waits for t and a second one ends
             * that wait (t may then still run, or have ended anyway). */
            bool ours_ok = armed || p0 != CP_NO;
            bool done = braid_task_done(t->t) == 1;
            if (t->started) {
                CHECK(done, "call_later task %d ran its callback but is not done", t->idx);
                CHECK(rc == 0 || (rc == -ECANCELED && ours_ok),
                      "call_later task %d ran its callback but status %d", t->idx, rc);
            } else {
                CHECK(rc == -ECANCELED, "call_later task %d did not run its callback: status %d",
                      t->idx, rc);
                if (done) {
                    CHECK(t->may_cancel, "call_later task %d cancelled by nobody", t->idx);
                    t->unstarted_end = true;
                } else {
                    CHECK(ours_ok, "await of call_later task %d: -ECANCELED, nobody cancelled",
                          t->idx);
                }
            }
            if (ours_ok)
                obs_unknown(r);
            return;
        }
        /* Running: wait for it, without a deadline where we may. */
        if (!forever_ok(r) && !g.cleanup)
            how = AW_UNTIL;
    }
    if (how == AW_SHIELD && !ended(t) && !forever_ok(r) && !g.cleanup)
        how = AW_UNTIL;
    if (!ended(t)) {
        /* A chain that holds m2 must not wait for a running task: a
         * cancellation turns any await into a wait without a deadline, and
         * that task may be re-taking m2 in cond_wait, which cannot be
         * cancelled (a lock-order deadlock of the program, not of braid). */
        for (const rec *c = r; c != NULL; c = c->parent)
            if (g.m2_holder == c->idx)
                return;
        if (avoid.inline_cancel && r->parent != NULL)
            return;
    }

    int64_t dl = 0;
    if (how == AW_UNTIL)
        dl = pick_dl(r, a);
    int64_t timeout = (a & 8) ? 500 + (a >> 4) * 200 : 0;
    int p0 = pred_take(r);
    bool was_ended = ended(t);
    bool arm_now = how == AW_WAIT_FOR;
    uint16_t mask = (uint16_t)(1u << t->idx);
    if (how == AW_UNTIL && p0 == CP_YES) {
        /* wait_done takes the cancellation at once and passes it on. */
        /* It takes it at once, cancels t and waits for t without a
         * deadline (or gives up at a second cancellation). */
        obs_take(r, true, __LINE__);
        if (may_end_unseen(t) || !ended(t))
            model_cancel(t);
        t->busy++;
        before(r);
        rc = braid_await_until(t->t, &res, dl);
        after(r);
        t->busy--;
        if (rc == -ECANCELED && (!ended(t) || status_of(t) != -ECANCELED)) {
            /* the second wait's take (another flag up the chain), or t's
             * status if t may have ended unseen */
            CHECK(ended(t) || pred_take(r) != CP_NO || may_end_unseen(t),
                  "await_until: -ECANCELED twice with one cancellation");
        } else {
            check_status(r, t, rc, res, __LINE__);
        }
        obs_unknown(r);
        return;
    }
    if (how == AW_SHIELD) {
        t->busy++;
        before(r);
        rc = braid_shield(t->t, &res);
        after(r);
        t->busy--;
        if (p0 == CP_YES) {
            CHECK(rc == -ECANCELED, "shield with a cancellation pending: %d", rc);
            obs_take(r, true, __LINE__);
            return;
        }
        if (rc == -ECANCELED && (!ended(t) || status_of(t) != -ECANCELED)) {
            /* Ours (wait_done's take), unless t may have ended unseen. */
            if (!ended(t) && may_end_unseen(t))
                obs_unknown(r);
            else
                obs_take(r, true, __LINE__);
            return;
        }
        check_status(r, t, rc, res, __LINE__);
        if (rc == -ECANCELED)
            obs_unknown(r); /* ours or t's */
        else if (was_ended)
            obs_take(r, false, __LINE__); /* the entry take found nothing; no park */
        else
            obs_grant(r);
        return;
    }
    pass_begin(r, mask, arm_now);
    before(r);
    switch (how) {
    case AW_AWAIT: rc = braid_await(t->t, &res); break;
    case AW_UNTIL: rc = braid_await_until(t->t, &res, dl); break;
    default: rc = braid_wait_for(t->t, timeout, &res); break;
    }
    after(r);
    TR("[%d]   %s of %d (dl %" PRId64 ", timeout %" PRId64 ") -> %d\n", r->idx,
       how == AW_AWAIT ? "await" : how == AW_UNTIL ? "await_until" : "wait_for", t->idx, dl, timeout, rc);
    bool armed = r->armed;
    bool loose = armed || p0 != CP_NO;
    if (how == AW_WAIT_FOR) {
        /* Armed from the start (a timeout cancels t); a cancellation of ours
         * counts only if one could have reached us. */
        loose = p0 != CP_NO || chain_may(r);
    }
    pass_end(r);
    if (!loose) {
        /* No cancellation could reach us: no take happened. */
        if (how == AW_WAIT_FOR) {
            if (ended(t) && rc == -ETIMEDOUT && status_of(t) == -ECANCELED) {
                /* timed out, cancelled it, it ended cancelled */
            } else if (!ended(t) && rc == -ETIMEDOUT && may_end_unseen(t)) {
                t->unstarted_end = true;
            } else {
                check_status(r, t, rc, res, __LINE__);
            }
        } else if (rc == -ETIMEDOUT && !ended(t)) {
            CHECK(dl != BRAID_FOREVER && how == AW_UNTIL, "await of %d timed out without a deadline",
                  t->idx);
        } else if (rc == -ETIMEDOUT && ended(t)) {
            fuzz_fail(__LINE__, "await_until of %d timed out although it had ended", t->idx);
        } else {
            check_status(r, t, rc, res, __LINE__);
        }
        obs_take(r, false, __LINE__);
        return;
    }
    /* A cancellation may have reached us: loose checks. */
    if (rc == -ETIMEDOUT) {
        CHECK(how != AW_AWAIT && (how == AW_WAIT_FOR || dl != BRAID_FOREVER),
              "await of %d: -ETIMEDOUT", t->idx);
        if (how == AW_WAIT_FOR && !ended(t) && may_end_unseen(t))
            t->unstarted_end = true;
        if (how == AW_WAIT_FOR && ended(t))
            CHECK(status_of(t) == -ECANCELED, "wait_for of %d: -ETIMEDOUT but status %d", t->idx,
                  status_of(t));
    } else if (rc == -ECANCELED && (!ended(t) || status_of(t) != -ECANCELED)) {
        /* ours: the wait after passing a cancellation on took another one
         * (t keeps running, or has ended all the same); or t's status if it
         * ended unseen */
        CHECK(p0 != CP_NO || armed || chain_may(r) || may_end_unseen(t),
              "await of %d: -ECANCELED with no cancellation", t->idx);
    } else {
        check_status(r, t, rc, res, __LINE__);
    }
    obs_unknown(r);
}

/* ---- body entry and exit ------------------------------------------------- */

static void on_start(rec *r)
{
    CHECK(g.cur == NULL, "task %d started while %d runs harness code", r->idx,
          g.cur ? g.cur->idx : -1);
    CHECK(!r->started, "task %d started twice", r->idx);
    CHECK(r->used, "task %d runs in an empty slot", r->idx);
    if (g.inline_expect == r) {
        braid_stats st;
        CHECK(braid_rt_stats(g.rt, &st) == 0 && st.inlined == g.inlined0 + 1,
              "task %d started while %d awaited it, but not inline", r->idx, g.inline_awaiter->idx);
        r->parent = g.inline_awaiter;
        r->inline_by = g.inline_awaiter;
    } else {
        CHECK(r->cp != CP_YES, "task %d started although cancelled before it started", r->idx);
        r->parent = NULL;
    }
    g.inline_expect = NULL;
    r->started = true;
    g.cur = r;
}

static void epilogue(rec *r)
{
    if (g.m1_owner == r->idx) {
        int rc = braid_mutex_unlock(g.m1);
        CHECK(rc == 0, "unlock at exit: %d", rc);
        if (g.m1_q.n > 0) {
            g.m1_owner = g.m1_q.who[0];
            fifo_del(&g.m1_q, 0);
            grant(g.m1_owner, 0, 0);
        } else {
            g.m1_owner = -1;
        }
    }
    if (g.m2_holder == r->idx) {
        int rc = braid_mutex_unlock(g.m2);
        CHECK(rc == 0, "unlock m2 at exit: %d", rc);
        g.m2_holder = -1;
    }
}

static int64_t body(void *arg)
{
    rec *r = arg;
    on_start(r);
    TR("[%d] starts%s\n", r->idx, r->parent ? " inline" : "");
    r->ret = 100 * (r->idx + 1);
    interp(r);
    epilogue(r);
    int64_t ret = r->ret;
    TR("[%d] returns %" PRId64 "\n", r->idx, ret);
    r->ended = true;
    r->parent = NULL;
    g.cur = NULL;
    return ret;
}

/* ---- the operations ------------------------------------------------------ */

enum {
    OP_SPAWN, OP_AWAIT, OP_CANCEL, OP_YIELD, OP_AWAIT_UNTIL, OP_WAIT_FOR, OP_SHIELD, OP_TASK_DONE,
    OP_REAP, OP_SLEEP, OP_FAIL, OP_RET, OP_SELF, OP_GATHER, OP_WAIT, OP_WAITSET,
    OP_GROUP_SPAWN, OP_GROUP_WAIT, OP_GROUP_STATUS, OP_CALL_SOON, OP_CALL_LATER, OP_DETACH,
    OP_EV_SET, OP_EV_CLEAR, OP_EV_WAIT, OP_EV_IS_SET,
    OP_M1_LOCK, OP_M1_TRYLOCK, OP_M1_UNLOCK,
    OP_SEM_ACQ, OP_SEM_REL, OP_SEM_VALUE,
    OP_CH_SEND, OP_CH_TRYSEND, OP_CH_RECV, OP_CH_TRYRECV, OP_CH_CLOSE, OP_CH_LEN,
    OP_F_RESOLVE, OP_F_FAIL, OP_F_AWAIT, OP_F_ON_DONE, OP_F_DONE,
    OP_M2_LOCK, OP_M2_UNLOCK, OP_COND_WAIT, OP_COND_NOTIFY, OP_BARRIER,
    OP_BLOCKING, OP_STATS, OP_SELF_CANCEL,
    NOP
};

/* Returns true when the coroutine should end (r->ret holds the value). */
static const char *const op_names[NOP] = {
    "spawn", "await", "cancel", "yield", "await_until", "wait_for", "shield", "task_done",
    "reap", "sleep", "fail", "ret", "self", "gather", "wait", "waitset",
    "group_spawn", "group_wait", "group_status", "call_soon", "call_later", "detach",
    "ev_set", "ev_clear", "ev_wait", "ev_is_set",
    "m1_lock", "m1_trylock", "m1_unlock",
    "sem_acq", "sem_rel", "sem_value",
    "ch_send", "ch_trysend", "ch_recv", "ch_tryrecv", "ch_close", "ch_len",
    "f_resolve", "f_fail", "f_await", "f_on_done", "f_done",
    "m2_lock", "m2_unlock", "cond_wait", "cond_notify", "barrier",
    "blocking", "stats", "self_cancel",
};

static void trace_state(const char *when, const rec *r)
{
    if (!trace)
        return;
    tr_printf("    %s %d: chain", when, r->idx);
    for (const rec *c = r; c != NULL; c = c->parent)
        tr_printf(" %d(cp%d in%d)", c->idx, c->cp, c->incoming);
    tr_printf("\n");
}

static bool do_op_(rec *r, int b, int *rcp);

static bool do_op(rec *r, int b)
{
    int rc = 12345;
    r->in_op = b % NOP;
    TR("[%d] @%zu %s\n", r->idx, g.pos - 1, op_names[b % NOP]);
    trace_state("before", r);
    bool end = do_op_(r, b, &rc);
    r->in_op = -1;
    TR("[%d] %s -> %d%s\n", r->idx, op_names[b % NOP], rc, end ? " (ends)" : "");
    trace_state("after", r);
    return end;
}

static bool do_op_(rec *r, int b, int *rcp)
{
    int op = b % NOP;
    int rc = 12345;
    r->nops++;
    switch (op) {
    case OP_SPAWN: {
        int a = arg();
        int s = free_slot();
        if (s < 0)
            break;
        rec *t = R(s);
        rec_init(t, s, K_BODY, (uint8_t)a);
        rc = braid_spawn(&t->t, body, t);
        CHECK(rc == 0 && t->t != NULL, "spawn: %d", rc);
        break;
    }
    case OP_AWAIT:
    case OP_AWAIT_UNTIL:
    case OP_WAIT_FOR:
    case OP_SHIELD: {
        rec *t = pick_slot(arg());
        int a = arg();
        if (t == NULL)
            break;
        do_await(r, t, op == OP_AWAIT ? AW_AWAIT : op == OP_AWAIT_UNTIL ? AW_UNTIL
                       : op == OP_WAIT_FOR ? AW_WAIT_FOR : AW_SHIELD, a);
        break;
    }
    case OP_CANCEL: {
        rec *t = pick_slot(arg());
        if (t == NULL)
            break;
        rc = braid_cancel(t->t);
        if (ended(t)) {
            CHECK(rc == 0, "cancel of ended task %d: %d", t->idx, rc);
        } else if (may_end_unseen(t)) {
            CHECK(rc == 0 || rc == 1, "cancel of %d: %d", t->idx, rc);
            if (rc == 0)
                t->unstarted_end = true;
            else
                model_cancel(t);
        } else {
            CHECK(rc == 1, "cancel of live task %d: %d", t->idx, rc);
            model_cancel(t);
        }
        break;
    }
    case OP_SELF_CANCEL: {
        if (r->idx == ROOT)
            break;
        braid_task *me = braid_self();
        CHECK(me == r->t || r->kind != K_BODY, "braid_self of %d", r->idx);
        rc = braid_cancel(me);
        CHECK(rc == 1, "self-cancel: %d", rc);
        model_cancel(r);
        break;
    }
    case OP_YIELD: {
        before(r);
        rc = braid_yield();
        after(r);
        CHECK(rc == 0 || rc == -ECANCELED, "yield: %d", rc);
        if (pred_take(r) == CP_YES)
            CHECK(rc == -ECANCELED, "yield of %d ignored a pending cancellation", r->idx);
        obs_take(r, rc == -ECANCELED, __LINE__);
        goto maybe_end;
    }
    case OP_SLEEP: {
        int a = arg();
        before(r);
        switch (a & 3) {
        case 0: rc = braid_sleep(0); break;
        case 1: rc = braid_sleep_until(0); break;
        case 2: rc = braid_sleep(300 + (a >> 2) * 50); break;
        default: rc = braid_sleep(-5); break;
        }
        after(r);
        CHECK(rc == 0 || rc == -ECANCELED, "sleep: %d", rc);
        if (pred_take(r) == CP_YES)
            CHECK(rc == -ECANCELED, "sleep of %d ignored a pending cancellation", r->idx);
        obs_take(r, rc == -ECANCELED, __LINE__);
        goto maybe_end;
    }
    case OP_FAIL: {
        int a = arg();
        if (r->idx == ROOT)
            break;
        static const int errs[] = {-EIO, -ENOENT, -EINVAL, 7};
        int e = errs[a & 3];
        rc = braid_fail(e, "fz%d.%d", r->idx, a);
        CHECK(rc == (e >= 0 ? -EINVAL : e), "braid_fail returned %d", rc);
        r->failed = true;
        snprintf(r->msg, sizeof r->msg, "fz%d.%d", r->idx, a);
        r->ret = rc;
        return true;
    }
    case OP_RET: {
        int a = arg();
        if (r->idx == ROOT)
            return true;
        r->ret = (a & 1) ? -(int64_t)EAGAIN : (int64_t)(a >> 1) + ((int64_t)(a & 2) << 40);
        return true;
    }
    case OP_SELF: {
        braid_task *me = braid_self();
        CHECK(me != NULL, "braid_self NULL");
        if (r->idx != ROOT)
            CHECK(me == r->t, "braid_self of %d is not its task", r->idx);
        CHECK(braid_current() == g.rt && braid_worker_id() == 0, "current runtime / worker");
        CHECK(braid_task_done(me) == 0, "running task done");
        break;
    }
    case OP_TASK_DONE: {
        rec *t = pick_slot(arg());
        if (t == NULL)
            break;
        rc = braid_task_done(t->t);
        if (ended(t))
            CHECK(rc == 1, "task_done of ended %d: %d", t->idx, rc);
        else if (may_end_unseen(t)) {
            CHECK(rc == 0 || rc == 1, "task_done: %d", rc);
            if (rc == 1)
                t->unstarted_end = true;
        } else
            CHECK(rc == 0, "task_done of live %d: %d", t->idx, rc);
        break;
    }
    case OP_REAP: {
        rec *t = pick_slot(arg());
        if (t == NULL || t->busy || t->in_group || in_chain(r, t))
            break;
        if (!ended(t) && !(!t->started && t->cp == CP_YES && t->kind == K_BODY))
            break;
        int64_t res = -1;
        before(r);
        rc = braid_await(t->t, &res);
        after(r);
        if (!ended(t)) {
            CHECK(rc == -ECANCELED, "reap of cancelled unstarted %d: %d", t->idx, rc);
            t->unstarted_end = true;
        }
        check_status(r, t, rc, res, __LINE__);
        CHECK(braid_task_done(t->t) == 1, "reaped task not done");
        braid_task_release(t->t);
        t->used = false;
        t->t = NULL;
        break;
    }
    case OP_GATHER: {
        int a = arg(), f = arg();
        uint16_t mask = pick_mask(a);
        braid_task *ts[NSLOT + 1];
        rec *rs[NSLOT + 1];
        int n = mask_tasks(r, &mask, ts, rs, f & 2);
        if (!ws_forever_ok(r) && !all_ended(mask))
            break;
        int64_t results[NSLOT + 1];
        int st[NSLOT + 1];
        for (int i = 0; i < n; i++)
            results[i] = -777;
        unsigned flags = (f & 1) ? BRAID_GATHER_RETURN_ERRORS : 0;
        int p0 = pred_take(r);
        busy_mask(mask, 1);
        before(r);
        rc = braid_gather(ts, (size_t)n, results, st, flags);
        after(r);
        busy_mask(mask, -1);
        /* Without BRAID_GATHER_RETURN_ERRORS it stops at the first status
         * that is not 0 and returns it (a task's -ECANCELED too): at most
         * one such status is filled in, and then rc is that status. Any
         * other -ECANCELED is ours: it cancelled every task. */
        bool all_in = true;
        int nfail = 0, fail_st = 0;
        for (int i = 0; i < n; i++) {
            if (st[i] == -EINPROGRESS) {
                all_in = false;
                continue;
            }
            check_status(r, rs[i], st[i], results[i], __LINE__);
            if (st[i] != 0) {
                nfail++;
                fail_st = st[i];
            }
        }
        if (!flags && nfail > 0) {
            CHECK(nfail == 1 && rc == fail_st, "gather returned %d, %d failed statuses (last %d)", rc,
                  nfail, fail_st);
            obs_ws_done(r, p0);
        } else if (rc == -ECANCELED) {
            obs_take(r, true, __LINE__);
            for (int i = 0; i < n; i++)
                if (!ended(rs[i]))
                    model_cancel(rs[i]);
        } else {
            CHECK(rc == 0 && all_in, "gather%s: %d, all in %d", flags ? "(return errors)" : "", rc,
                  all_in);
            obs_ws_done(r, p0);
        }
        break;
    }
    case OP_WAIT: {
        int a = arg(), f = arg();
        uint16_t mask = pick_mask(a);
        braid_task *ts[NSLOT + 1];
        rec *rs[NSLOT + 1];
        int n = mask_tasks(r, &mask, ts, rs, f & 4);
        int mode = f % 3;
        int64_t dl = pick_dl(r, f >> 2);
        if (dl == BRAID_FOREVER && !ws_forever_ok(r))
            dl = 0;
        size_t ndone = 99;
        int p0 = pred_take(r);
        busy_mask(mask, 1);
        before(r);
        rc = braid_wait(ts, (size_t)n, mode, dl, &ndone);
        after(r);
        busy_mask(mask, -1);
        TR("[%d] wait(n %d, mode %d, dl %" PRId64 ") -> %d, ndone %zu\n", r->idx, n, mode, dl, rc, ndone);
        int nend = 0;
        for (int i = 0; i < n; i++) {
            if (braid_task_done(ts[i]) == 1) {
                if (!ended(rs[i])) {
                    CHECK(may_end_unseen(rs[i]), "wait: task %d done, model says live", rs[i]->idx);
                    rs[i]->unstarted_end = true;
                }
            }
            if (ended(rs[i]))
                nend++;
        }
        CHECK(ndone <= (size_t)n && (int)ndone <= nend, "wait: ndone %zu, n %d, ended %d", ndone, n,
              nend);
        if (rc == 0) {
            if (mode == BRAID_WAIT_ALL)
                CHECK(ndone == (size_t)n, "wait all: ndone %zu of %d", ndone, n);
            else if (mode == BRAID_WAIT_FIRST_COMPLETED)
                CHECK(ndone == (n > 0 ? 1u : 0u), "wait first: ndone %zu", ndone);
            obs_ws_done(r, p0);
        } else if (rc == -ETIMEDOUT) {
            CHECK(dl != BRAID_FOREVER, "wait: -ETIMEDOUT without deadline");
            if (avoid.wait_cancel)
                obs_unknown(r);
            else
                obs_take(r, false, __LINE__);
        } else {
            CHECK(rc == -ECANCELED, "wait: %d", rc);
            obs_take(r, true, __LINE__);
        }
        break;
    }
    case OP_WAITSET: {
        int a = arg(), f = arg();
        uint16_t mask = pick_mask(a);
        braid_task *ts[NSLOT + 1];
        rec *rs[NSLOT + 1];
        int n = mask_tasks(r, &mask, ts, rs, f & 4);
        braid_waitset *ws = NULL;
        rc = braid_waitset_new(&ws, ts, (size_t)n);
        CHECK(rc == 0 && ws != NULL, "waitset_new: %d", rc);
        busy_mask(mask, 1);
        bool seen[NSLOT + 1] = {false};
        int got = 0;
        for (int k = 0; k <= n; k++) {
            int64_t dl = pick_dl(r, f >> 3);
            if (dl == BRAID_FOREVER && !ws_forever_ok(r))
                dl = 0;
            size_t idx = 99;
            int p0 = pred_take(r);
            before(r);
            rc = braid_waitset_next(ws, dl, &idx);
            after(r);
            if (rc == 0) {
                CHECK(idx < (size_t)n && !seen[idx], "waitset: index %zu", idx);
                seen[idx] = true;
                got++;
                if (!ended(rs[idx])) {
                    CHECK(may_end_unseen(rs[idx]), "waitset delivered live task %d", rs[idx]->idx);
                    rs[idx]->unstarted_end = true;
                }
                obs_ws_done(r, p0);
                continue;
            }
            if (rc == -ENOENT) {
                CHECK(got == n, "waitset: -ENOENT after %d of %d", got, n);
                break;
            }
            if (rc == -ETIMEDOUT) {
                CHECK(dl != BRAID_FOREVER, "waitset: -ETIMEDOUT without deadline");
                if (avoid.wait_cancel)
                    obs_unknown(r);
                else
                    obs_take(r, false, __LINE__);
            } else {
                CHECK(rc == -ECANCELED, "waitset_next: %d", rc);
                obs_take(r, true, __LINE__);
            }
            break;
        }
        braid_waitset_free(ws);
        busy_mask(mask, -1);
        break;
    }
    case OP_GROUP_SPAWN: {
        int a = arg();
        int s = free_slot();
        if (s < 0 || g.g_n >= NSLOT)
            break;
        rec *t = R(s);
        rec_init(t, s, K_BODY, (uint8_t)a);
        t->in_group = true;
        rc = braid_group_spawn(g.grp, &t->t, body, t);
        CHECK(rc == 0 && t->t != NULL, "group_spawn: %d", rc);
        g.g_mem[g.g_n++] = s;
        CHECK(braid_group_size(g.grp) == (size_t)g.g_n, "group size");
        if (g.g_waiting) {
            /* The wait in progress covers it: it may cancel it too. */
            rec *w = g.g_waiter;
            w->pass_mask |= (uint16_t)(1u << s);
            t->busy++;
            if (w->armed) {
                t->incoming++;
                t->may_cancel = true;
            }
        }
        if (g.g_cancelling == CP_YES)
            model_cancel(t);
        else if (g.g_cancelling == CP_MAYBE)
            model_cancel_maybe(t);
        break;
    }
    case OP_GROUP_WAIT: {
        if (g.g_waiting)
            break;
        uint16_t mask = 0;
        for (int i = 0; i < g.g_n; i++)
            mask |= (uint16_t)(1u << g.g_mem[i]);
        bool self_member = false;
        for (int i = 0; i < g.g_n; i++)
            if (in_chain(r, R(g.g_mem[i])))
                self_member = true;
        if (self_member || (!ws_forever_ok(r) && !all_ended(mask)))
            break;
        g.g_waiting = 1;
        g.g_waiter = r;
        if (g.g_cancelling == CP_NO)
            g.g_cancelling = CP_MAYBE;
        int p0 = pred_take(r);
        pass_begin(r, mask, true);
        before(r);
        rc = braid_group_wait(g.grp);
        after(r);
        bool hit = p0 != CP_NO || chain_may(r);
        pass_end(r);
        g.g_waiting = 0;
        /* Every member (also those added while it waited) has been awaited. */
        bool any_fail = false;
        for (int i = 0; i < g.g_n; i++) {
            braid_task *mt = NULL;
            int st = braid_group_status(g.grp, (size_t)i, &mt);
            rec *m = R(g.g_mem[i]);
            CHECK(mt == m->t, "group member %d handle", i);
            CHECK(st != -EINPROGRESS, "group member %d not awaited after group_wait", i);
            check_status(r, m, st, m->ret, __LINE__);
            if (st != 0 && st != -ECANCELED)
                any_fail = true;
        }
        CHECK(braid_group_status(g.grp, (size_t)g.g_n, NULL) == -ERANGE, "group status past end");
        if (rc == -ECANCELED) {
            CHECK(hit, "group_wait: -ECANCELED unasked");
            obs_unknown(r);
            g.g_cancelling = CP_YES;
        } else if (rc == 0) {
            CHECK(!any_fail, "group_wait 0 with a failed member");
            obs_ws_done(r, p0);
            if (g.g_cancelling == CP_MAYBE)
                g.g_cancelling = CP_NO;
        } else {
            bool found = false;
            for (int i = 0; i < g.g_n; i++)
                if (status_of(R(g.g_mem[i])) == rc)
                    found = true;
            CHECK(found && rc != -ECANCELED, "group_wait returned %d", rc);
            g.g_cancelling = CP_YES;
            obs_ws_done(r, p0);
        }
        break;
    }
    case OP_GROUP_STATUS: {
        int a = arg();
        size_t i = (size_t)(a % (NSLOT + 1));
        braid_task *mt = (braid_task *)1;
        rc = braid_group_status(g.grp, i, &mt);
        if (i >= (size_t)g.g_n) {
            CHECK(rc == -ERANGE && mt == NULL, "group_status past end: %d", rc);
        } else {
            rec *m = R(g.g_mem[i]);
            CHECK(mt == m->t, "group_status task");
            /* Awaited by a group_wait: a member it cancelled before it
             * started ended unseen (-ECANCELED). */
            if (rc != -EINPROGRESS)
                check_status(r, m, rc, m->ret, __LINE__);
        }
        break;
    }
    case OP_CALL_SOON:
    case OP_CALL_LATER: {
        int a = arg();
        int s = free_slot();
        if (s < 0 || avoid.callbacks)
            break;
        rec *t = R(s);
        rec_init(t, s, op == OP_CALL_SOON ? K_SOON : K_LATER, 0);
        if (op == OP_CALL_SOON)
            rc = braid_call_soon(g.rt, &t->t, soon_cb, t);
        else
            rc = braid_call_later(g.rt, &t->t, (a & 1) ? 200 + (a >> 1) * 20 : 0, soon_cb, t);
        CHECK(rc == 0 && t->t != NULL, "call_soon/later: %d", rc);
        break;
    }
    case OP_DETACH: {
        g.detached_live++;
        rc = braid_spawn(NULL, detached_body, NULL);
        CHECK(rc == 0, "detached spawn: %d", rc);
        break;
    }
    case OP_EV_SET:
        rc = braid_event_set(g.ev);
        CHECK(rc == 0, "event_set: %d", rc);
        g.ev_set = true;
        for (int i = 0; i < NREC; i++)
            if (g.ev_waiters & (1u << i))
                grant(i, 0, 0);
        g.ev_waiters = 0;
        break;
    case OP_EV_CLEAR:
        rc = braid_event_clear(g.ev);
        CHECK(rc == 0, "event_clear: %d", rc);
        g.ev_set = false;
        break;
    case OP_EV_IS_SET:
        rc = braid_event_is_set(g.ev);
        CHECK(rc == (int)g.ev_set, "event_is_set: %d", rc);
        break;
    case OP_EV_WAIT: {
        int64_t dl = pick_dl(r, arg());
        if (g.ev_set) {
            before(r);
            rc = braid_event_wait_until(g.ev, dl);
            after(r);
            CHECK(rc == 0, "wait on a set event: %d", rc);
            break;
        }
        r->granted = false;
        g.ev_waiters |= (uint16_t)(1u << r->idx);
        before(r);
        rc = braid_event_wait_until(g.ev, dl);
        after(r);
        if (r->granted) {
            CHECK(rc == 0, "event granted, wait returned %d", rc);
            obs_grant(r);
        } else {
            g.ev_waiters &= (uint16_t)~(1u << r->idx);
            blocked_fail(r, rc, dl, __LINE__);
        }
        r->granted = false;
        goto maybe_end;
    }
    case OP_M1_LOCK: {
        int64_t dl = pick_dl(r, arg());
        if (g.m1_owner == -1) {
            rc = braid_mutex_lock_until(g.m1, dl);
            CHECK(rc == 0, "lock of a free mutex: %d", rc);
            g.m1_owner = r->idx;
            break;
        }
        if (g.m1_owner == r->idx) {
            rc = braid_mutex_lock_until(g.m1, dl);
            CHECK(rc == -EDEADLK, "relock by the owner: %d", rc);
            break;
        }
        if (dl == BRAID_FOREVER && !forever_ok(r))
            dl = 0;
        r->granted = false;
        fifo_push(&g.m1_q, r->idx, 0);
        before(r);
        rc = braid_mutex_lock_until(g.m1, dl);
        after(r);
        if (r->granted) {
            CHECK(rc == 0 && g.m1_owner == r->idx, "mutex granted, lock returned %d", rc);
            obs_grant(r);
        } else {
            int i = fifo_find(&g.m1_q, r->idx);
            CHECK(i >= 0, "mutex waiter lost");
            fifo_del(&g.m1_q, i);
            blocked_fail(r, rc, dl, __LINE__);
        }
        r->granted = false;
        goto maybe_end;
    }
    case OP_M1_TRYLOCK:
        rc = braid_mutex_trylock(g.m1);
        if (g.m1_owner == -1) {
            CHECK(rc == 0, "trylock of a free mutex: %d", rc);
            g.m1_owner = r->idx;
        } else {
            CHECK(rc == -EBUSY, "trylock of a held mutex: %d", rc);
        }
        break;
    case OP_M1_UNLOCK:
        rc = braid_mutex_unlock(g.m1);
        if (g.m1_owner != r->idx) {
            CHECK(rc == -EPERM, "unlock by a non-owner: %d", rc);
        } else {
            CHECK(rc == 0, "unlock: %d", rc);
            if (g.m1_q.n > 0) {
                g.m1_owner = g.m1_q.who[0];
                fifo_del(&g.m1_q, 0);
                grant(g.m1_owner, 0, 0);
            } else {
                g.m1_owner = -1;
            }
        }
        break;
    case OP_SEM_ACQ: {
        int64_t dl = pick_dl(r, arg());
        if (g.sem_count > 0 && g.sem_q.n == 0) {
            rc = braid_sem_acquire_until(g.sem, dl);
            CHECK(rc == 0, "sem acquire with a permit: %d", rc);
            g.sem_count--;
            break;
        }
        r->granted = false;
        fifo_push(&g.sem_q, r->idx, 0);
        before(r);
        rc = braid_sem_acquire_until(g.sem, dl);
        after(r);
        if (r->granted) {
            CHECK(rc == 0, "permit granted, acquire returned %d", rc);
            obs_grant(r);
        } else {
            int i = fifo_find(&g.sem_q, r->idx);
            CHECK(i >= 0, "sem waiter lost");
            fifo_del(&g.sem_q, i);
            blocked_fail(r, rc, dl, __LINE__);
        }
        r->granted = false;
        goto maybe_end;
    }
    case OP_SEM_REL:
        rc = braid_sem_release(g.sem);
        if (g.sem_q.n > 0) {
            CHECK(rc == 0, "sem release to a waiter: %d", rc);
            grant(g.sem_q.who[0], 0, 0);
            fifo_del(&g.sem_q, 0);
        } else if (g.sem_max != 0 && g.sem_count >= g.sem_max) {
            CHECK(rc == -EOVERFLOW, "sem release past max: %d", rc);
        } else {
            CHECK(rc == 0, "sem release: %d", rc);
            g.sem_count++;
        }
        break;
    case OP_SEM_VALUE:
        CHECK(braid_sem_value(g.sem) == g.sem_count, "sem value %ld, want %ld",
              braid_sem_value(g.sem), g.sem_count);
        break;
    case OP_CH_SEND:
    case OP_CH_TRYSEND: {
        int64_t dl = op == OP_CH_SEND ? pick_dl(r, arg()) : 0;
        intptr_t v = ++g.ch_next;
        if (g.ch_closed) {
            if (op == OP_CH_SEND) {
                before(r);
                rc = braid_chan_send_until(g.ch, v, dl);
                after(r);
            } else {
                rc = braid_chan_try_send(g.ch, v);
            }
            CHECK(rc == -EPIPE, "send on a closed channel: %d", rc);
            break;
        }
        if (g.ch_rq.n > 0 || g.ch_n < g.ch_cap) {
            if (op == OP_CH_SEND)
                rc = braid_chan_send_until(g.ch, v, dl);
            else
                rc = braid_chan_try_send(g.ch, v);
            CHECK(rc == 0, "send with room: %d", rc);
            if (g.ch_rq.n > 0) {
                grant(g.ch_rq.who[0], 0, v);
                fifo_del(&g.ch_rq, 0);
            } else {
                g.ch_buf[(g.ch_head + g.ch_n) % g.ch_cap] = v;
                g.ch_n++;
            }
            break;
        }
        if (op == OP_CH_TRYSEND) {
            rc = braid_chan_try_send(g.ch, v);
            CHECK(rc == -EAGAIN, "try_send on a full channel: %d", rc);
            break;
        }
        r->granted = false;
        fifo_push(&g.ch_sq, r->idx, v);
        before(r);
        rc = braid_chan_send_until(g.ch, v, dl);
        after(r);
        if (r->granted) {
            CHECK(rc == r->gresult, "send granted %d, returned %d", r->gresult, rc);
            obs_grant(r);
        } else {
            int i = fifo_find(&g.ch_sq, r->idx);
            CHECK(i >= 0, "blocked sender lost");
            fifo_del(&g.ch_sq, i);
            blocked_fail(r, rc, dl, __LINE__);
        }
        r->granted = false;
        goto maybe_end;
    }
    case OP_CH_RECV:
    case OP_CH_TRYRECV: {
        int64_t dl = op == OP_CH_RECV ? pick_dl(r, arg()) : 0;
        intptr_t v = -1;
        if (g.ch_n > 0) {
            if (op == OP_CH_RECV)
                rc = braid_chan_recv_until(g.ch, &v, dl);
            else
                rc = braid_chan_try_recv(g.ch, &v);
            intptr_t want = g.ch_buf[g.ch_head];
            CHECK(rc == 0 && v == want, "recv: %d value %" PRIdPTR ", want %" PRIdPTR, rc, v, want);
            g.ch_head = (g.ch_head + 1) % g.ch_cap;
            g.ch_n--;
            if (g.ch_sq.n > 0) {
                g.ch_buf[(g.ch_head + g.ch_n) % g.ch_cap] = g.ch_sq.val[0];
                g.ch_n++;
                grant(g.ch_sq.who[0], 0, 0);
                fifo_del(&g.ch_sq, 0);
            }
            break;
        }
        if (g.ch_closed || op == OP_CH_TRYRECV) {
            if (op == OP_CH_RECV)
                rc = braid_chan_recv_until(g.ch, &v, dl);
            else
                rc = braid_chan_try_recv(g.ch, &v);
            CHECK(rc == (g.ch_closed ? -EPIPE : -EAGAIN), "recv on an empty channel: %d", rc);
            break;
        }
        r->granted = false;
        fifo_push(&g.ch_rq, r->idx, 0);
        before(r);
        rc = braid_chan_recv_until(g.ch, &v, dl);
        after(r);
        if (r->granted) {
            CHECK(rc == r->gresult, "recv granted %d, returned %d", r->gresult, rc);
            if (rc == 0)
                CHECK(v == r->gvalue, "recv handed %" PRIdPTR ", got %" PRIdPTR, r->gvalue, v);
            obs_grant(r);
        } else {
            int i = fifo_find(&g.ch_rq, r->idx);
            CHECK(i >= 0, "blocked receiver lost");
            fifo_del(&g.ch_rq, i);
            blocked_fail(r, rc, dl, __LINE__);
        }
        r->granted = false;
        goto maybe_end;
    }
    case OP_CH_CLOSE:
        rc = braid_chan_close(g.ch);
        CHECK(rc == (g.ch_closed ? -EALREADY : 0), "close: %d", rc);
        g.ch_closed = true;
        CHECK(g.ch_rq.n == 0 || g.ch_n == 0, "receivers wait on a non-empty channel");
        for (int i = 0; i < g.ch_sq.n; i++)
            grant(g.ch_sq.who[i], -EPIPE, 0);
        for (int i = 0; i < g.ch_rq.n; i++)
            grant(g.ch_rq.who[i], -EPIPE, 0);
        g.ch_sq.n = g.ch_rq.n = 0;
        break;
    case OP_CH_LEN:
        CHECK(braid_chan_len(g.ch) == g.ch_n, "chan_len %ld, want %d", braid_chan_len(g.ch), g.ch_n);
        break;
    case OP_F_RESOLVE:
    case OP_F_FAIL: {
        int a = arg();
        int f = a & 1;
        int want = g.f_state[f] ? -EALREADY : 0;
        int e = (a & 2) ? -EIO : -ECONNRESET;
        if (op == OP_F_FAIL && (a & 4))
            e = 3; /* not an error: -EINVAL, nothing changes */
        g.ncblog = 0;
        if (op == OP_F_RESOLVE)
            rc = braid_future_resolve(g.fut[f], a);
        else
            rc = braid_future_fail(g.fut[f], e);
        if (op == OP_F_FAIL && e >= 0) {
            CHECK(rc == -EINVAL && g.ncblog == 0, "future_fail(%d): %d", e, rc);
            break;
        }
        CHECK(rc == want, "future complete: %d, want %d", rc, want);
        if (want == 0) {
            g.f_state[f] = op == OP_F_RESOLVE ? 1 : 2;
            g.f_value[f] = a;
            g.f_err[f] = e;
            for (int i = 0; i < NREC; i++)
                if (g.f_waiters[f] & (1u << i))
                    grant(i, 0, 0);
            g.f_waiters[f] = 0;
            CHECK(g.ncblog == g.f_ncb[f], "future: %d callbacks ran, %d registered", g.ncblog,
                  g.f_ncb[f]);
            for (int i = 0; i < g.ncblog; i++)
                CHECK(g.cblog[i] == g.f_cbs[f][i], "future callbacks out of order");
            g.f_ncb[f] = 0;
        } else {
            CHECK(g.ncblog == 0, "callbacks ran on a second completion");
        }
        g.ncblog = 0;
        break;
    }
    case OP_F_AWAIT: {
        int a = arg();
        int f = a & 1;
        int64_t dl = pick_dl(r, a >> 1);
        int64_t v = -1;
        if (g.f_state[f] != 0) {
            before(r);
            rc = braid_future_await_until(g.fut[f], &v, dl);
            after(r);
        } else {
            r->granted = false;
            g.f_waiters[f] |= (uint16_t)(1u << r->idx);
            before(r);
            rc = braid_future_await_until(g.fut[f], &v, dl);
            after(r);
            if (!r->granted) {
                g.f_waiters[f] &= (uint16_t)~(1u << r->idx);
                blocked_fail(r, rc, dl, __LINE__);
                goto maybe_end;
            }
            r->granted = false;
            obs_grant(r);
        }
        if (g.f_state[f] == 1)
            CHECK(rc == 0 && v == g.f_value[f], "future await: %d %" PRId64, rc, v);
        else
            CHECK(rc == g.f_err[f], "failed future await: %d", rc);
        break;
    }
    case OP_F_ON_DONE: {
        int f = arg() & 1;
        int id = (f << 8) | (g.cb_next++ & 0xff);
        g.ncblog = 0;
        if (g.f_ncb[f] >= 16)
            break;
        rc = braid_future_on_done(g.fut[f], fut_cb, (void *)(intptr_t)id);
        CHECK(rc == 0, "on_done: %d", rc);
        if (g.f_state[f] == 0) {
            CHECK(g.ncblog == 0, "on_done ran a callback early");
            g.f_cbs[f][g.f_ncb[f]++] = id;
        } else {
            CHECK(g.ncblog == 1 && g.cblog[0] == id, "on_done on a done future did not call back");
        }
        g.ncblog = 0;
        break;
    }
    case OP_F_DONE: {
        int f = arg() & 1;
        CHECK(braid_future_done(g.fut[f]) == (g.f_state[f] != 0), "future_done");
        break;
    }
    case OP_M2_LOCK: {
        int a = arg();
        int64_t dl = pick_dl(r, a);
        if (a & 0x40) {
            rc = braid_mutex_trylock(g.m2);
            if (rc == 0) {
                CHECK(g.m2_holder == -1, "m2 trylock won while %d holds it", g.m2_holder);
                g.m2_holder = r->idx;
            } else {
                CHECK(rc == -EBUSY && (g.m2_holder != -1 || g.m2_lockers > 0),
                      "m2 trylock: %d (holder %d)", rc, g.m2_holder);
            }
            break;
        }
        bool mine = g.m2_holder == r->idx;
        bool fast = g.m2_holder == -1 && g.m2_lockers == 0;
        bool blocks = g.m2_holder != -1 && !mine;
        g.m2_lockers++;
        before(r);
        rc = braid_mutex_lock_until(g.m2, dl);
        after(r);
        g.m2_lockers--;
        if (mine) {
            CHECK(rc == -EDEADLK, "m2 relock by holder: %d", rc);
            break;
        }
        if (rc == 0) {
            CHECK(g.m2_holder == -1, "m2 locked while %d holds it", g.m2_holder);
            g.m2_holder = r->idx;
            if (blocks)
                obs_grant(r); /* granted: a take, then rearmed */
            else if (!fast)
                obs_maybe_grant(r);
        } else {
            CHECK(!fast, "m2 lock of a free mutex: %d", rc);
            blocked_fail(r, rc, dl, __LINE__);
        }
        goto maybe_end;
    }
    case OP_M2_UNLOCK:
        rc = braid_mutex_unlock(g.m2);
        if (g.m2_holder == r->idx) {
            CHECK(rc == 0, "m2 unlock: %d", rc);
            g.m2_holder = -1;
        } else {
            CHECK(rc == -EPERM, "m2 unlock by non-holder: %d", rc);
        }
        break;
    case OP_COND_WAIT: {
        int64_t dl = pick_dl(r, arg());
        if (g.m2_holder != r->idx) {
            before(r);
            rc = braid_cond_wait_until(g.cond, g.m2, dl);
            after(r);
            CHECK(rc == -EPERM, "cond_wait without the mutex: %d", rc);
            break;
        }
        g.m2_holder = -1;
        g.m2_lockers++;
        g.in_cond |= (uint16_t)(1u << r->idx);
        r->cond_notified = false;
        unsigned nc0 = chain_ncancel(r);
        before(r);
        rc = braid_cond_wait_until(g.cond, g.m2, dl);
        after(r);
        g.in_cond &= (uint16_t)~(1u << r->idx);
        g.m2_lockers--;
        CHECK(g.m2_holder == -1, "cond_wait returned, but %d holds the mutex", g.m2_holder);
        g.m2_holder = r->idx;
        if (rc == 0) {
            CHECK(r->cond_notified, "cond_wait returned 0 without a notify");
            obs_take(r, false, __LINE__);
        } else if (rc == -ETIMEDOUT) {
            CHECK(dl != BRAID_FOREVER, "cond_wait -ETIMEDOUT without deadline");
            obs_take(r, false, __LINE__);
        } else {
            CHECK(rc == -ECANCELED, "cond_wait: %d", rc);
            obs_take(r, true, __LINE__);
            /* It stops taking after the first: one that came while it took
             * the mutex back (and was put back when the grant won) may still
             * be pending. */
            if (chain_ncancel(r) != nc0 && r->cp == CP_NO)
                r->cp = CP_MAYBE;
            obs_unknown(r);
        }
        goto maybe_end;
    }
    case OP_COND_NOTIFY: {
        int a = arg();
        int n = a & 3;
        rc = (a & 4) ? braid_cond_notify_all(g.cond) : braid_cond_notify(g.cond, n);
        int waiting = __builtin_popcount(g.in_cond);
        CHECK(rc >= 0 && rc <= waiting && ((a & 4) || rc <= n), "notify: %d (%d waiting)", rc, waiting);
        if (rc > 0)
            for (int i = 0; i < NREC; i++)
                if (g.in_cond & (1u << i))
                    R(i)->cond_notified = true;
        break;
    }
    case OP_BARRIER: {
        if (!forever_ok(r))
            break;
        int idx = g.bar_arrived++;
        if (g.bar_arrived == g.bar_parties) {
            g.bar_arrived = 0;
            for (int i = 0; i < g.bar_q.n; i++)
                grant(g.bar_q.who[i], (int)g.bar_q.val[i], 0);
            g.bar_q.n = 0;
            rc = braid_barrier_wait(g.bar);
            CHECK(rc == idx, "barrier: last arrival got %d, want %d", rc, idx);
            break;
        }
        r->granted = false;
        fifo_push(&g.bar_q, r->idx, idx);
        before(r);
        rc = braid_barrier_wait(g.bar);
        after(r);
        if (r->granted) {
            CHECK(rc == r->gresult, "barrier: got %d, want %d", rc, r->gresult);
            obs_grant(r);
        } else {
            int i = fifo_find(&g.bar_q, r->idx);
            CHECK(i >= 0, "barrier waiter lost");
            fifo_del(&g.bar_q, i);
            g.bar_arrived--;
            blocked_fail(r, rc, BRAID_FOREVER, __LINE__);
        }
        r->granted = false;
        goto maybe_end;
    }
    case OP_BLOCKING: {
        int a = arg();
        int64_t dl = (a & 1) && forever_ok(r) ? BRAID_FOREVER : 0;
        int64_t res = -1;
        int p0 = pred_take(r);
        before(r);
        rc = braid_blocking_until(pool_fn, (void *)(intptr_t)a, &res, dl);
        after(r);
        if (p0 == CP_YES)
            CHECK(rc == -ECANCELED, "blocking with a cancellation pending: %d", rc);
        if (rc == 0) {
            CHECK(res == a, "blocking result %" PRId64 ", want %d", res, a);
            obs_grant(r);
        } else {
            blocked_fail(r, rc, dl, __LINE__);
        }
        goto maybe_end;
    }
    case OP_STATS: {
        braid_stats st;
        rc = braid_rt_stats(g.rt, &st);
        CHECK(rc == 0, "stats: %d", rc);
        uint64_t lo = 1 + (uint64_t)g.detached_live, hi = lo; /* the root */
        uint64_t slo = 1, shi = 1;                             /* its stack */
        for (int i = 0; i < NSLOT; i++) {
            rec *t = R(i);
            if (!t->used || ended(t))
                continue;
            hi++;
            if (!may_end_unseen(t))
                lo++;
            if (t->kind == K_BODY && t->started && t->inline_by == NULL) {
                slo++;
                shi++;
            } else if (t->kind == K_LATER) {
                shi++;
            }
        }
        CHECK(st.live >= lo && st.live <= hi, "stats.live %" PRIu64 " not in [%" PRIu64 ", %" PRIu64 "]",
              st.live, lo, hi);
        CHECK(st.stacks_in_use >= slo && st.stacks_in_use <= shi,
              "stats.stacks_in_use %" PRIu64 " not in [%" PRIu64 ", %" PRIu64 "]", st.stacks_in_use,
              slo, shi);
        CHECK(st.spawned == st.completed + st.live, "stats spawned/completed/live");
        break;
    }
    default:
        break;
    }
    *rcp = rc;
    return false;
maybe_end:
    *rcp = rc;
    if (rc == -ECANCELED && (r->policy & 1) && r->idx != ROOT) {
        r->ret = -ECANCELED;
        return true;
    }
    return false;
}

static void interp(rec *r)
{
    for (;;) {
        int b = rd();
        if (b < 0)
            return;
        if (do_op(r, b))
            return;
    }
}

/* ---- the root: objects, program, cleanup --------------------------------- */

static void cleanup(rec *root)
{
    g.cleanup = true;
    g.pos = g.size; /* whoever runs from now on sees the end of the program */
    epilogue(root);
    /* Cancel everything alive, then await it all. */
    for (int i = 0; i < NSLOT; i++) {
        rec *t = R(i);
        if (!t->used || ended(t))
            continue;
        int rc = braid_cancel(t->t);
        if (may_end_unseen(t)) {
            CHECK(rc == 0 || rc == 1, "cleanup cancel: %d", rc);
            if (rc == 0)
                t->unstarted_end = true;
            else
                model_cancel(t);
        } else {
            CHECK(rc == 1, "cleanup cancel of live %d: %d", i, rc);
            model_cancel(t);
        }
    }
    for (int i = 0; i < NSLOT; i++) {
        rec *t = R(i);
        if (!t->used)
            continue;
        do_await(root, t, AW_AWAIT, 0);
        CHECK(ended(t), "task %d alive after cleanup", i);
        CHECK(braid_task_done(t->t) == 1, "task %d not done after its await", i);
    }
    while (g.detached_live > 0) {
        before(root);
        int rc = braid_yield();
        after(root);
        CHECK(rc == 0, "root yield: %d", rc);
    }
    int rc = braid_group_wait(g.grp);
    (void)rc;
    for (int i = 0; i < g.g_n; i++) {
        int st = braid_group_status(g.grp, (size_t)i, NULL);
        CHECK(st == status_of(R(g.g_mem[i])), "group member %d status %d after cleanup", i, st);
    }
    braid_group_free(g.grp);
    for (int i = 0; i < NSLOT; i++) {
        rec *t = R(i);
        if (t->used && !t->in_group)
            braid_task_release(t->t);
        t->used = false;
    }
    /* The channel: exactly what the model holds, in order. */
    CHECK(braid_chan_len(g.ch) == g.ch_n, "chan_len at the end");
    CHECK(g.ch_sq.n == 0 && g.ch_rq.n == 0, "channel waiters at the end");
    for (int k = 0; k < g.ch_n; k++) {
        intptr_t v = -1;
        rc = braid_chan_try_recv(g.ch, &v);
        CHECK(rc == 0 && v == g.ch_buf[(g.ch_head + k) % g.ch_cap], "drain: %d", rc);
    }
    intptr_t v;
    rc = braid_chan_try_recv(g.ch, &v);
    CHECK(rc == (g.ch_closed ? -EPIPE : -EAGAIN), "drained channel: %d", rc);
    CHECK(g.m1_q.n == 0 && g.sem_q.n == 0 && g.bar_q.n == 0 && g.ev_waiters == 0 &&
              g.in_cond == 0 && g.f_waiters[0] == 0 && g.f_waiters[1] == 0,
          "waiters left at the end");
    CHECK(g.m1_owner == -1 && g.m2_holder == -1, "a mutex still held at the end");
    CHECK(braid_mutex_trylock(g.m1) == 0 && braid_mutex_unlock(g.m1) == 0, "m1 free at the end");
    CHECK(braid_mutex_trylock(g.m2) == 0 && braid_mutex_unlock(g.m2) == 0, "m2 free at the end");
    CHECK(braid_sem_value(g.sem) == g.sem_count, "sem at the end");
    CHECK(braid_event_is_set(g.ev) == (int)g.ev_set, "event at the end");
}

static int64_t root_body(void *unused)
{
    (void)unused;
    CHECK(g.cur == NULL, "root: harness busy");
    rec *root = R(ROOT);
    rec_init(root, ROOT, K_BODY, 0);
    root->started = true;
    g.cur = root;

    int c = arg();
    g.ch_cap = 1 + (c & 3);
    g.sem_count = (c >> 2) & 3;
    g.sem_max = (c & 0x10) ? g.sem_count + 1 : 0;
    g.bar_parties = 2 + ((c >> 5) & 1);
    g.m1_owner = g.m2_holder = -1;
    CHECK(braid_event_new(&g.ev) == 0 && braid_mutex_new(&g.m1) == 0 &&
              braid_sem_new(&g.sem, g.sem_count, g.sem_max) == 0 &&
              braid_chan_new(&g.ch, (size_t)g.ch_cap) == 0 && braid_future_new(&g.fut[0]) == 0 &&
              braid_future_new(&g.fut[1]) == 0 && braid_mutex_new(&g.m2) == 0 &&
              braid_cond_new(&g.cond) == 0 && braid_barrier_new(&g.bar, (unsigned)g.bar_parties) == 0 &&
              braid_group_new(&g.grp) == 0,
          "objects");

    interp(root);
    cleanup(root);

    braid_event_free(g.ev);
    braid_mutex_free(g.m1);
    braid_sem_free(g.sem);
    braid_chan_free(g.ch);
    braid_future_free(g.fut[0]);
    braid_future_free(g.fut[1]);
    braid_mutex_free(g.m2);
    braid_cond_free(g.cond);
    braid_barrier_free(g.bar);
    g.cur = NULL;
    return ROOT_MAGIC;
}

/* ---- the watchdog ---------------------------------------------------------- */

/* An input that runs longer than FUZZ_WATCHDOG seconds (default 10) is a
 * hang: print what every coroutine is doing and the runtime's list of live
 * tasks, then abort, so libFuzzer keeps the input as a crash with the
 * diagnosis beside it. (Racy reads of the model: it is stuck anyway.) */
static volatile unsigned long wd_input;  /* inputs started */
static volatile int wd_running;
static int wd_secs = 10;

static void *watchdog(void *arg)
{
    (void)arg;
    unsigned long seen = 0;
    int stuck = 0;
    for (;;) {
        sleep(1);
        unsigned long now = wd_input;
        if (!wd_running || now != seen) {
            seen = now;
            stuck = 0;
            continue;
        }
        if (++stuck < wd_secs)
            continue;
        wd_fired = 1;
        trace_dump();
        fprintf(stderr, "fuzz_api: input %lu has run for %d s: a hang. Input:", now, stuck);
        for (size_t i = 0; i < g.size; i++)
            fprintf(stderr, " %02x", g.data[i]);
        fprintf(stderr, "\nCoroutines:\n");
        for (int i = 0; i < NREC; i++) {
            rec *c = R(i);
            if (i != ROOT && !c->used)
                continue;
            fprintf(stderr, "  %d: %s%s%s, in op %s, cp %d, incoming %d, parent %d, policy %d\n", i,
                    c->started ? "started" : "not started", c->ended ? ", ended" : "",
                    c->unstarted_end ? ", ended unstarted" : "",
                    c->in_op >= 0 ? op_names[c->in_op] : "-", c->cp, c->incoming,
                    c->parent ? c->parent->idx : -1, c->policy);
        }
        fprintf(stderr, "  cursor %zu of %zu, cleanup %d, m1 owner %d, m2 holder %d, detached %d\n",
                g.pos, g.size, g.cleanup, g.m1_owner, g.m2_holder, g.detached_live);
        size_t n = 0;
        braid_rt_shutdown(g.rt, braid_now() + BRAID_MSEC, &n, 1);
        abort();
    }
    return NULL;
}

/* ---- libFuzzer entry points ---------------------------------------------- */

static void worker_start(unsigned worker, void *arg)
{
    (void)worker;
    (void)arg;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* tiny sleeps stay tiny */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *av = getenv("FUZZ_AVOID");
    if (av != NULL && strstr(av, "callbacks") != NULL)
        avoid.callbacks = true;
    if (av != NULL && strstr(av, "wait-cancel") != NULL)
        avoid.wait_cancel = true;
    if (av != NULL && strstr(av, "inline-cancel") != NULL)
        avoid.inline_cancel = true;
    const char *tr = getenv("FUZZ_TRACE");
    trace = tr != NULL && (tr[0] == '1' || tr[0] == '2');
    trace_mem = tr != NULL && tr[0] == '2';
    if (getenv("FUZZ_WATCHDOG") != NULL)
        wd_secs = atoi(getenv("FUZZ_WATCHDOG"));
    if (wd_secs > 0) {
        pthread_t th;
        if (pthread_create(&th, NULL, watchdog, NULL) == 0)
            pthread_detach(th);
    }
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 1;
    o.seed = 1;
    o.stack_size = 256 * 1024;
    o.no_overflow_handler = 1;
    o.blocking_threads = 4;
    o.on_worker_start = worker_start;
    int rc = braid_rt_new(&g.rt, &o);
    if (rc != 0) {
        fprintf(stderr, "fuzz_api: braid_rt_new: %d\n", rc);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        size = MAX_INPUT;
    braid_rt *rt = g.rt;
    memset(&g, 0, sizeof g);
    g.rt = rt;
    g.data = data;
    g.size = size;
    int64_t res = 0;
    tlen = 0;
    wd_input++;
    wd_running = 1;
    int rc = braid_rt_block_on(rt, root_body, NULL, &res);
    wd_running = 0;
    CHECK(rc == 0 && res == ROOT_MAGIC, "block_on: %d, %" PRId64, rc, res);
    braid_stats st;
    CHECK(braid_rt_stats(rt, &st) == 0, "stats");
    CHECK(st.live == 0, "%" PRIu64 " tasks alive after the input", st.live);
    CHECK(st.stacks_in_use == 0, "%" PRIu64 " stacks in use after the input", st.stacks_in_use);
    return 0;
}
