/* test_badinput.c - the bad-input catalogue (tests/BADINPUT.md): one test
 * per item, named after it. The rule they check: bad input gets a negative
 * errno (the one braid.h documents), at once, and loses nothing; it never
 * crashes, hangs, or silently succeeds.
 *
 *   null_function                 -EINVAL from every verb that takes a body
 *   stack_size_zero               0 means BRAID_DEFAULT_STACK
 *   stack_size_below_minimum      -EINVAL below BRAID_MIN_STACK; MIN works
 *   stack_size_overflowing        -EINVAL above BRAID_MAX_STACK (and where
 *                                 page rounding would wrap); MAX works
 *   spawn_after_shutdown          -ESHUTDOWN from every spawning verb
 *   double_await                  the same status and result every time
 *   await_from_a_foreign_thread   -EPERM, and the task is untouched
 *   cancel_finished_task          0, the status stays what it was
 *   cancel_self                   1, delivered at the next waiting call
 *   cancel_twice                  1 and 1, delivered once
 *   yield_outside_a_coroutine     -EPERM from plain threads, worker
 *                                 hooks and blocking-pool threads
 *   negative_deadline,            -ETIMEDOUT at once from every deadline
 *   past_deadline                 form; success at once when ready
 *   int64_max_deadline            no deadline (INT64_MAX and INT64_MAX-1)
 *   fd_minus_one, closed_fd       -EBADF from every fd verb, at once
 *   reused_fd                     an old waiter gets -EBADF, never the
 *                                 new fd's data; the new fd works
 *   reused_fd_after_close2        the same number after close(2) of a
 *                                 socket braid made: the new fd works
 *   eintr_storm                   signals at every braid thread: no -EINTR,
 *                                 no byte lost, no sleep cut short
 *   eagain_storm                  many waiters on one fd: each message
 *                                 delivered once, no -EAGAIN
 *   io_uring_unavailable          I/O works with io_uring_setup (and
 *                                 epoll_pwait2) refused by seccomp
 *   one_worker                    a mixed workload on one worker
 *   more_workers_than_cores       the same on 4 x cores + 1 and on 1024
 *                                 workers; out of fds is a clean error
 *   fork_while_running            a coroutine forks; the parent runs on
 *   stack_overflow_inline_is_diagnosed     a diagnostic and SIGABRT, also
 *   stack_overflow_large_frame_is_diagnosed  inline and for big frames
 *
 * "At once" is within PROMPT (generous: a loaded 2-core machine, ASan). */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define MS BRAID_MSEC
#define SEC BRAID_SEC
#define PROMPT (300 * MS)

/* ---- helpers (run_main, nop, upair, fill, drain, ... in common.h) ------ */

/* Waits for the event arg, then returns 7. */
static int64_t wait_event_ret7(void *arg)
{
    int err = braid_event_wait(arg);
    return err != 0 ? err : 7;
}

static int64_t mark_ran(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

static void mark_cb(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
}

static pid_t gettid_(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* Touch about n bytes of stack in 1 KiB frames. */
static __attribute__((noinline)) int touch_stack(size_t n)
{
    volatile char buf[1024];
    for (size_t i = 0; i < sizeof buf; i += 64)
        buf[i] = (char)n;
    return n <= sizeof buf ? buf[0] : touch_stack(n - sizeof buf) + buf[64];
}

static int64_t use_stack(void *arg)
{
    (void)touch_stack((size_t)IARG(arg));
    return 1;
}

/* ====================================================================== */
/* null_function                                                           */
/* ====================================================================== */

static int64_t main_null_function(void *arg)
{
    braid_rt *rt = arg;
    braid_stats s0, s1;
    cr_assert_eq(braid_rt_stats(rt, &s0), 0);
    braid_task *t = (braid_task *)1;
    cr_assert_eq(braid_spawn(&t, NULL, NULL), -EINVAL);
    cr_assert_null(t, "*out is cleared on error");
    cr_assert_eq(braid_spawn(NULL, NULL, NULL), -EINVAL, "detached: the same");
    t = (braid_task *)1;
    cr_assert_eq(braid_rt_spawn(rt, &t, NULL, NULL), -EINVAL);
    cr_assert_null(t);
    cr_assert_eq(braid_rt_block_on(rt, NULL, NULL, NULL), -EINVAL, "fn is checked first");
    t = (braid_task *)1;
    cr_assert_eq(braid_call_soon(rt, &t, NULL, NULL), -EINVAL);
    cr_assert_null(t);
    t = (braid_task *)1;
    cr_assert_eq(braid_call_later(rt, &t, MS, NULL, NULL), -EINVAL);
    cr_assert_null(t);
    int64_t r = 55;
    cr_assert_eq(braid_blocking(NULL, NULL, &r), -EINVAL);
    cr_assert_eq(braid_blocking_until(NULL, NULL, &r, braid_now() + SEC), -EINVAL);
    cr_assert_eq(r, 55, "*result untouched");
    braid_group *g;
    cr_assert_eq(braid_group_new(&g), 0);
    t = (braid_task *)1;
    cr_assert_eq(braid_group_spawn(g, &t, NULL, NULL), -EINVAL);
    cr_assert_null(t);
    cr_assert_eq(braid_group_size(g), 0, "no member was added");
    cr_assert_eq(braid_group_wait(g), 0);
    braid_group_free(g);
    braid_future *f;
    cr_assert_eq(braid_future_new(&f), 0);
    cr_assert_eq(braid_future_on_done(f, NULL, NULL), -EINVAL);
    braid_future_free(f);
    cr_assert_eq(braid_rt_stats(rt, &s1), 0);
    cr_assert_eq(s1.spawned, s0.spawned, "a refused spawn created a task");
    cr_assert_eq(braid_yield(), 0, "the caller is unharmed");
    return 0;
}

Test(badinput, null_function, .timeout = 30)
{
    /* Outside any runtime first: fn NULL is -EINVAL whoever calls. */
    braid_task *t = (braid_task *)1;
    cr_assert_eq(braid_spawn(&t, NULL, NULL), -EINVAL);
    cr_assert_null(t);
    cr_assert_eq(braid_run(NULL, NULL, NULL, NULL), -EINVAL);
    int64_t r = 55;
    cr_assert_eq(braid_blocking(NULL, NULL, &r), -EINVAL, "from a plain thread too");
    cr_assert_eq(r, 55);
    braid_rt *rt = rt_make(2);
    t = (braid_task *)1;
    cr_assert_eq(braid_rt_spawn(rt, &t, NULL, NULL), -EINVAL);
    cr_assert_null(t);
    cr_assert_eq(braid_rt_block_on(rt, NULL, NULL, &r), -EINVAL);
    cr_assert_eq(braid_call_soon(rt, NULL, NULL, NULL), -EINVAL);
    cr_assert_eq(braid_rt_block_on(rt, main_null_function, rt, NULL), 0);
    braid_stats s;
    cr_assert_eq(braid_rt_stats(rt, &s), 0);
    cr_assert_eq(s.spawned, 1, "only the main task was ever created");
    rt_done(rt);
}

/* ====================================================================== */
/* stack sizes                                                             */
/* ====================================================================== */

/* A runtime with this stack size runs a task that touches `touch` bytes of
 * stack; returns the runtime's stack_bytes. */
static uint64_t run_with_stack(size_t size, size_t touch)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 1;
    o.stack_size = size;
    braid_rt *rt = NULL;
    int err = braid_rt_new(&rt, &o);
    cr_assert_eq(err, 0, "stack_size %zu: %s", size, braid_strerror(err));
    int64_t r = 0;
    cr_assert_eq(braid_rt_block_on(rt, use_stack, ARG(touch), &r), 0, "stack_size %zu", size);
    cr_assert_eq(r, 1);
    braid_stats s;
    cr_assert_eq(braid_rt_stats(rt, &s), 0);
    cr_assert_gt(s.stack_bytes, 0);
    rt_done(rt);
    return s.stack_bytes;
}

static void refuse_stack(size_t size)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 1;
    o.stack_size = size;
    braid_rt *rt = (braid_rt *)1;
    cr_assert_eq(braid_rt_new(&rt, &o), -EINVAL, "stack_size %zu", size);
    cr_assert_null(rt, "stack_size %zu: *out is cleared", size);
    atomic_int ran;
    atomic_init(&ran, 0);
    cr_assert_eq(braid_run(mark_ran, &ran, &o, NULL), -EINVAL, "braid_run, stack_size %zu", size);
    cr_assert_eq(atomic_load(&ran), 0);
}

Test(badinput, stack_size_zero, .timeout = 30)
{
    /* 0 is the default: the same stacks as asking for it by name, and a
     * task can use most of 64 KiB. */
    uint64_t zero = run_with_stack(0, 48 * 1024);
    uint64_t dflt = run_with_stack(BRAID_DEFAULT_STACK, 48 * 1024);
    cr_assert_eq(zero, dflt, "stack_size 0 mapped %llu bytes, BRAID_DEFAULT_STACK %llu",
                 (unsigned long long)zero, (unsigned long long)dflt);
}

Test(badinput, stack_size_below_minimum, .timeout = 30)
{
    refuse_stack(1);
    refuse_stack(4096);
    refuse_stack(BRAID_MIN_STACK - 4096);
    refuse_stack(BRAID_MIN_STACK - 1);
    /* The minimum itself works; one byte more is rounded up to a page. */
    uint64_t min = run_with_stack(BRAID_MIN_STACK, 8 * 1024);
    uint64_t min1 = run_with_stack(BRAID_MIN_STACK + 1, 8 * 1024);
    uint64_t minpg = run_with_stack(BRAID_MIN_STACK + (size_t)sysconf(_SC_PAGESIZE), 8 * 1024);
    cr_assert_lt(min, min1);
    cr_assert_eq(min1, minpg, "MIN + 1 is rounded up to a whole page");
}

Test(badinput, stack_size_overflowing, .timeout = 30)
{
    refuse_stack(BRAID_MAX_STACK + 1);
    refuse_stack(BRAID_MAX_STACK + (size_t)sysconf(_SC_PAGESIZE));
    refuse_stack(SIZE_MAX / 2);
    refuse_stack(SIZE_MAX - 4095); /* page rounding would wrap to 0 */
    refuse_stack(SIZE_MAX);
    /* The maximum itself works (address space is reserved, not memory). */
    run_with_stack(BRAID_MAX_STACK, 8 * 1024);
}

/* ====================================================================== */
/* spawn_after_shutdown                                                    */
/* ====================================================================== */

typedef struct {
    atomic_int started, ran;
    int spawn, rt_spawn, group_spawn, call_soon;
    braid_task *out;
} late_spawner;

/* Ignores the first cancellation (the shutdown's), then tries to spawn. */
static int64_t late_spawner_body(void *arg)
{
    late_spawner *l = arg;
    atomic_store(&l->started, 1);
    while (braid_sleep(BRAID_FOREVER) != -ECANCELED)
        ;
    l->out = (braid_task *)1;
    l->spawn = braid_spawn(&l->out, mark_ran, &l->ran);
    l->rt_spawn = braid_rt_spawn(braid_current(), NULL, mark_ran, &l->ran);
    braid_group *g;
    cr_assert_eq(braid_group_new(&g), 0);
    l->group_spawn = braid_group_spawn(g, NULL, mark_ran, &l->ran);
    cr_assert_eq(braid_group_size(g), 0);
    braid_group_free(g);
    l->call_soon = braid_call_soon(braid_current(), NULL, mark_cb, &l->ran);
    return 0;
}

Test(badinput, spawn_after_shutdown, .timeout = 30)
{
    /* After braid_rt_shutdown returned 0: the runtime is closed. */
    braid_rt *rt = rt_make(2);
    size_t running = 99;
    cr_assert_eq(braid_rt_shutdown(rt, braid_now() + SEC, &running, 0), 0);
    cr_assert_eq(running, 0);
    atomic_int ran;
    atomic_init(&ran, 0);
    braid_task *t = (braid_task *)1;
    cr_assert_eq(braid_rt_spawn(rt, &t, mark_ran, &ran), -ESHUTDOWN);
    cr_assert_null(t, "*out is cleared");
    cr_assert_eq(braid_rt_spawn(rt, NULL, mark_ran, &ran), -ESHUTDOWN);
    int64_t r = 55;
    cr_assert_eq(braid_rt_block_on(rt, mark_ran, &ran, &r), -ESHUTDOWN);
    cr_assert_eq(r, 55);
    t = (braid_task *)1;
    cr_assert_eq(braid_call_soon(rt, &t, mark_cb, &ran), -ESHUTDOWN);
    cr_assert_null(t);
    cr_assert_eq(braid_call_later(rt, NULL, MS, mark_cb, &ran), -ESHUTDOWN);
    cr_assert_eq(braid_rt_shutdown(rt, braid_now() + SEC, &running, 0), 0, "shutdown twice");
    braid_stats s;
    cr_assert_eq(braid_rt_stats(rt, &s), 0);
    cr_assert_eq(s.spawned, 0, "a refused spawn was counted");
    cr_assert_eq(s.live, 0);
    cr_assert_eq(atomic_load(&ran), 0, "a refused body ran");
    rt_shutdown(rt);

    /* From a coroutine while the runtime shuts down around it. */
    rt = rt_make(2);
    late_spawner l;
    memset(&l, 0, sizeof l);
    atomic_init(&l.started, 0);
    atomic_init(&l.ran, 0);
    braid_task *h;
    cr_assert_eq(braid_rt_spawn(rt, &h, late_spawner_body, &l), 0);
    while (atomic_load(&l.started) == 0)
        plain_sleep_ms(1);
    cr_assert_eq(braid_rt_shutdown(rt, braid_now() + 5 * SEC, &running, 1), 0);
    cr_assert_eq(braid_join(h, NULL, BRAID_FOREVER), 0);
    braid_task_release(h);
    cr_assert_eq(l.spawn, -ESHUTDOWN, "braid_spawn: %s", braid_strerror(l.spawn));
    cr_assert_null(l.out);
    cr_assert_eq(l.rt_spawn, -ESHUTDOWN, "braid_rt_spawn: %s", braid_strerror(l.rt_spawn));
    cr_assert_eq(l.group_spawn, -ESHUTDOWN, "braid_group_spawn: %s",
                 braid_strerror(l.group_spawn));
    cr_assert_eq(l.call_soon, -ESHUTDOWN, "braid_call_soon: %s", braid_strerror(l.call_soon));
    cr_assert_eq(atomic_load(&l.ran), 0, "a refused body ran");
    cr_assert_eq(braid_rt_stats(rt, &s), 0);
    cr_assert_eq(s.spawned, 1, "only the spawner was ever created");
    rt_shutdown(rt);
}

/* ====================================================================== */
/* double_await                                                            */
/* ====================================================================== */

static atomic_int square_runs;

static int64_t slow_square(void *arg)
{
    atomic_fetch_add(&square_runs, 1);
    int64_t x = IARG(arg);
    int err = braid_sleep(5 * MS);
    return err != 0 ? err : x * x;
}

typedef struct {
    braid_task *t;
    int st;
    int64_t r;
} awaiter_job;

static int64_t awaiter_body(void *arg)
{
    awaiter_job *j = arg;
    j->r = -1;
    j->st = braid_await(j->t, &j->r);
    return 0;
}

static int64_t main_double_await(void *arg)
{
    (void)arg;
    atomic_store(&square_runs, 0);
    /* One after the other: the same status and result every time, by
     * every verb that reads it. */
    braid_task *t = spawn(slow_square, ARG(6));
    int64_t r = -1;
    cr_assert_eq(braid_await(t, &r), 0);
    cr_assert_eq(r, 36);
    r = -1;
    cr_assert_eq(braid_await(t, &r), 0, "second await");
    cr_assert_eq(r, 36, "second await");
    r = -1;
    cr_assert_eq(braid_await_until(t, &r, INT64_MIN), 0, "an ended task beats any deadline");
    cr_assert_eq(r, 36);
    r = -1;
    cr_assert_eq(braid_join(t, &r, 0), 0);
    cr_assert_eq(r, 36);
    r = -1;
    cr_assert_eq(braid_wait_for(t, 0, &r), 0);
    cr_assert_eq(r, 36);
    r = -1;
    cr_assert_eq(braid_shield(t, &r), 0);
    cr_assert_eq(r, 36);
    cr_assert_eq(atomic_load(&square_runs), 1, "the body ran %d times", atomic_load(&square_runs));
    braid_task_release(t);

    /* A failure is reported again, and *result is never written. */
    braid_task *u = spawn(fails_eio, NULL);
    r = -1;
    cr_assert_eq(braid_await(u, &r), -EIO);
    cr_assert_eq(braid_await(u, &r), -EIO);
    cr_assert_eq(r, -1);
    braid_task_release(u);

    /* Cancelled before it started: -ECANCELED each time. */
    atomic_int ran;
    atomic_init(&ran, 0);
    braid_task *c = spawn(mark_ran, &ran);
    cr_assert_eq(braid_cancel(c), 1);
    int first = braid_await(c, NULL);
    cr_assert(first == -ECANCELED || (first == 0 && atomic_load(&ran) == 1),
              "await of a cancelled task: %d", first);
    cr_assert_eq(braid_await(c, NULL), first, "the second await agrees with the first");
    braid_task_release(c);

    /* Many awaiters at once (one may run it inline, the others wait): all
     * see the result; the body runs once. */
    atomic_store(&square_runs, 0);
    braid_task *v = spawn(slow_square, ARG(7));
    awaiter_job jobs[4];
    braid_task *aw[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (awaiter_job){.t = v, .st = 12345};
        aw[i] = spawn(awaiter_body, &jobs[i]);
    }
    r = -1;
    cr_assert_eq(braid_await(v, &r), 0);
    cr_assert_eq(r, 49);
    for (int i = 0; i < 4; i++) {
        join(aw[i], 0);
        cr_assert_eq(jobs[i].st, 0, "awaiter %d: %s", i, braid_strerror(jobs[i].st));
        cr_assert_eq(jobs[i].r, 49, "awaiter %d", i);
    }
    cr_assert_eq(atomic_load(&square_runs), 1);
    braid_task_release(v);
    cr_assert_eq(braid_yield(), 0);
    return 0;
}

Test(badinput, double_await, .timeout = 30)
{
    run_main_1_and_2(main_double_await, NULL);
}

/* ====================================================================== */
/* await_from_a_foreign_thread                                             */
/* ====================================================================== */

typedef struct {
    braid_task *t;
    int await, await_until, wait_for, shield, wait, gather, waitset;
    size_t ndone;
    braid_waitset *ws;
    int64_t r;
    int64_t took;
} foreign_await;

static void foreign_await_all(foreign_await *f)
{
    int64_t t0 = braid_now();
    f->r = 55;
    f->await = braid_await(f->t, &f->r);
    f->await_until = braid_await_until(f->t, &f->r, braid_now() + SEC);
    f->wait_for = braid_wait_for(f->t, SEC, &f->r);
    f->shield = braid_shield(f->t, &f->r);
    f->ndone = 99;
    f->wait = braid_wait(&f->t, 1, BRAID_WAIT_ALL, braid_now() + SEC, &f->ndone);
    f->gather = braid_gather(&f->t, 1, NULL, NULL, 0);
    f->ws = (braid_waitset *)1;
    f->waitset = braid_waitset_new(&f->ws, &f->t, 1);
    f->took = braid_now() - t0;
}

static void check_foreign_await(const foreign_await *f, const char *who)
{
    cr_assert_eq(f->await, -EPERM, "%s: braid_await: %s", who, braid_strerror(f->await));
    cr_assert_eq(f->await_until, -EPERM, "%s: braid_await_until: %s", who,
                 braid_strerror(f->await_until));
    cr_assert_eq(f->wait_for, -EPERM, "%s: braid_wait_for: %s", who, braid_strerror(f->wait_for));
    cr_assert_eq(f->shield, -EPERM, "%s: braid_shield: %s", who, braid_strerror(f->shield));
    cr_assert_eq(f->wait, -EPERM, "%s: braid_wait: %s", who, braid_strerror(f->wait));
    cr_assert_eq(f->ndone, 0, "%s: braid_wait's *ndone", who);
    cr_assert_eq(f->gather, -EPERM, "%s: braid_gather: %s", who, braid_strerror(f->gather));
    cr_assert_eq(f->waitset, -EPERM, "%s: braid_waitset_new: %s", who, braid_strerror(f->waitset));
    cr_assert_null(f->ws, "%s: *out of braid_waitset_new", who);
    cr_assert_eq(f->r, 55, "%s: *result written", who);
    cr_assert_lt(f->took, PROMPT, "%s: the refusals took %lld ms", who, ms_of(f->took));
}

static void *foreign_await_thread(void *arg)
{
    foreign_await_all(arg);
    return NULL;
}

static foreign_await hook_await;
static atomic_int hook_await_done;
static int hook_join;

static void await_in_start_hook(unsigned worker, void *arg)
{
    (void)arg;
    if (worker != 0)
        return;
    foreign_await_all(&hook_await);
    hook_join = braid_join(hook_await.t, NULL, BRAID_FOREVER);
    atomic_store(&hook_await_done, 1);
}

typedef struct {
    braid_task *t;
    braid_event *e;
} cross_job;

/* A coroutine of another runtime awaits t (not started there yet). */
static int64_t cross_await(void *arg)
{
    cross_job *j = arg;
    int64_t r = -1;
    cr_assert_eq(braid_event_set(j->e), 0);
    int st = braid_await(j->t, &r);
    cr_assert_eq(st, 0, "cross-runtime await: %s", braid_strerror(st));
    return r;
}

Test(badinput, await_from_a_foreign_thread, .timeout = 30)
{
    braid_rt *rt = rt_make(2);
    braid_event *e;
    cr_assert_eq(braid_event_new(&e), 0);
    braid_task *t;
    cr_assert_eq(braid_rt_spawn(rt, &t, wait_event_ret7, e), 0);
    /* The test's own thread, then a thread started after the runtime. */
    foreign_await f = {.t = t};
    foreign_await_all(&f);
    check_foreign_await(&f, "the test thread");
    foreign_await g = {.t = t};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, foreign_await_thread, &g), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    check_foreign_await(&g, "a pthread");
    /* A worker thread outside any coroutine (a start hook). */
    hook_await = (foreign_await){.t = t};
    atomic_store(&hook_await_done, 0);
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 1;
    o.on_worker_start = await_in_start_hook;
    braid_rt *hooked;
    cr_assert_eq(braid_rt_new(&hooked, &o), 0);
    while (atomic_load(&hook_await_done) == 0)
        plain_sleep_ms(1);
    rt_done(hooked);
    check_foreign_await(&hook_await, "a start hook");
    cr_assert_eq(hook_join, -EPERM, "braid_join in a start hook: %s", braid_strerror(hook_join));
    /* Nothing was changed: not cancelled, not consumed; it still runs and
     * its result is there for a proper join. */
    cr_assert_eq(braid_task_done(t), 0);
    cr_assert_eq(braid_event_set(e), 0);
    int64_t r = -1;
    cr_assert_eq(braid_join(t, &r, braid_now() + 5 * SEC), 0);
    cr_assert_eq(r, 7);
    braid_task_release(t);
    /* What a foreign thread should use instead: braid_join (above), or a
     * coroutine of another runtime, which may await a task of this one. */
    cr_assert_eq(braid_event_clear(e), 0);
    braid_event *go;
    cr_assert_eq(braid_event_new(&go), 0);
    cr_assert_eq(braid_rt_spawn(rt, &t, wait_event_ret7, go), 0);
    braid_rt *other = rt_make(1);
    cross_job cj = {.t = t, .e = go};
    r = -1;
    cr_assert_eq(braid_rt_block_on(other, cross_await, &cj, &r), 0);
    cr_assert_eq(r, 7);
    braid_task_release(t);
    rt_done(other);
    braid_event_free(go);
    braid_event_free(e);
    rt_done(rt);
}

/* ====================================================================== */
/* cancel: of a finished task, of itself, twice                            */
/* ====================================================================== */

static void *cancel_from_thread(void *arg)
{
    return (void *)(intptr_t)braid_cancel(arg);
}

static int64_t main_cancel_finished(void *arg)
{
    (void)arg;
    /* Ended and awaited: the handle is still ours (await does not consume
     * it); cancel is a no-op that says so, and the status stays. */
    braid_task *t = spawn(ret_arg, ARG(5));
    int64_t r = -1;
    cr_assert_eq(braid_await(t, &r), 0);
    cr_assert_eq(r, 5);
    cr_assert_eq(braid_task_done(t), 1);
    cr_assert_eq(braid_cancel(t), 0, "cancel of a finished task");
    cr_assert_eq(braid_cancel(t), 0, "and again");
    r = -1;
    cr_assert_eq(braid_await(t, &r), 0, "the status did not become -ECANCELED");
    cr_assert_eq(r, 5);
    /* From a plain thread too. */
    pthread_t th;
    void *ret;
    cr_assert_eq(pthread_create(&th, NULL, cancel_from_thread, t), 0);
    cr_assert_eq(pthread_join(th, &ret), 0);
    cr_assert_eq((int)(intptr_t)ret, 0, "cancel from a plain thread");
    braid_task_release(t);
    /* Ended but never awaited. */
    braid_task *u = spawn(ret_arg, ARG(9));
    int64_t give_up = braid_now() + 5 * SEC;
    while (braid_task_done(u) == 0) {
        cr_assert_lt(braid_now(), give_up);
        cr_assert_eq(braid_sleep(MS), 0);
    }
    cr_assert_eq(braid_cancel(u), 0);
    r = -1;
    cr_assert_eq(braid_await(u, &r), 0);
    cr_assert_eq(r, 9);
    braid_task_release(u);
    /* A failed one keeps its error. */
    braid_task *v = spawn(fails_eio, NULL);
    cr_assert_eq(braid_await(v, NULL), -EIO);
    cr_assert_eq(braid_cancel(v), 0);
    cr_assert_eq(braid_await(v, NULL), -EIO);
    braid_task_release(v);
    cr_assert_eq(braid_cancel(NULL), -EINVAL);
    cr_assert_eq(braid_yield(), 0, "no cancellation leaked onto the caller");
    cr_assert_eq(braid_sleep(MS), 0);
    return 0;
}

Test(badinput, cancel_finished_task, .timeout = 30)
{
    run_main_1_and_2(main_cancel_finished, NULL);
}

typedef struct {
    int c1, c2, done, s1, s2, y;
} self_log;

static int64_t cancels_itself(void *arg)
{
    self_log *l = arg;
    l->c1 = braid_cancel(braid_self());
    l->c2 = braid_cancel(braid_self());
    l->done = braid_task_done(braid_self());
    l->s1 = braid_sleep(MS); /* the next waiting call gets it */
    l->s2 = braid_sleep(MS); /* once */
    l->y = braid_yield();
    return 42; /* the body decides its status */
}

static int64_t cancels_itself_and_returns(void *arg)
{
    (void)arg;
    return braid_cancel(braid_self()) == 1 ? 43 : -EPROTO;
}

static void check_self_log(const self_log *l, const char *how)
{
    cr_assert_eq(l->c1, 1, "%s: first cancel of itself: %d", how, l->c1);
    cr_assert_eq(l->c2, 1, "%s: second cancel of itself (pending: idempotent): %d", how, l->c2);
    cr_assert_eq(l->done, 0, "%s", how);
    cr_assert_eq(l->s1, -ECANCELED, "%s: the next waiting call: %s", how, braid_strerror(l->s1));
    cr_assert_eq(l->s2, 0, "%s: delivered twice: %s", how, braid_strerror(l->s2));
    cr_assert_eq(l->y, 0, "%s", how);
}

static int64_t main_cancel_self(void *arg)
{
    (void)arg;
    /* A spawned task (started by the loop: we sleep until it is done). */
    self_log l = {0};
    braid_task *t = spawn(cancels_itself, &l);
    int64_t give_up = braid_now() + 5 * SEC;
    while (braid_task_done(t) == 0) {
        cr_assert_lt(braid_now(), give_up);
        cr_assert_eq(braid_sleep(MS), 0);
    }
    int64_t r = -1;
    cr_assert_eq(braid_await(t, &r), 0);
    cr_assert_eq(r, 42);
    check_self_log(&l, "own stack");
    braid_task_release(t);
    /* Awaited before it started: it runs inline on our stack; its cancel
     * of itself is its own, not ours. */
    self_log m = {0};
    t = spawn(cancels_itself, &m);
    r = -1;
    cr_assert_eq(braid_await(t, &r), 0);
    cr_assert_eq(r, 42);
    check_self_log(&m, "inline");
    braid_task_release(t);
    cr_assert_eq(braid_yield(), 0, "the awaiter was not cancelled");
    cr_assert_eq(braid_sleep(MS), 0);
    /* Cancelled itself but never waited afterwards: the request is never
     * delivered, the body's return is the status. */
    t = spawn(cancels_itself_and_returns, NULL);
    r = -1;
    cr_assert_eq(braid_await(t, &r), 0);
    cr_assert_eq(r, 43);
    cr_assert_eq(braid_cancel(t), 0, "ended: cancel is a no-op");
    braid_task_release(t);
    /* The main task itself. */
    cr_assert_eq(braid_cancel(braid_self()), 1);
    cr_assert_eq(braid_sleep(MS), -ECANCELED);
    cr_assert_eq(braid_sleep(MS), 0);
    return 0;
}

Test(badinput, cancel_self, .timeout = 30)
{
    run_main_1_and_2(main_cancel_self, NULL);
}

typedef struct {
    atomic_int started;
    int s1, s2;
} twice_log;

static int64_t sleeps_twice(void *arg)
{
    twice_log *l = arg;
    atomic_store(&l->started, 1);
    l->s1 = braid_sleep(BRAID_FOREVER);
    l->s2 = braid_sleep(MS);
    return 42;
}

static int64_t main_cancel_twice(void *arg)
{
    (void)arg;
    /* Not started (one worker: nobody can start it while we run). */
    atomic_int ran;
    atomic_init(&ran, 0);
    braid_task *t = spawn(mark_ran, &ran);
    cr_assert_eq(braid_cancel(t), 1);
    cr_assert_eq(braid_cancel(t), 1, "a second cancel of a pending request");
    cr_assert_eq(braid_await(t, NULL), -ECANCELED);
    cr_assert_eq(atomic_load(&ran), 0, "a cancelled task never starts");
    cr_assert_eq(braid_cancel(t), 0);
    cr_assert_eq(braid_cancel(t), 0);
    braid_task_release(t);
    /* Suspended: both cancels before it runs again; delivered once. */
    twice_log l = {.s1 = 12345, .s2 = 12345};
    atomic_init(&l.started, 0);
    t = spawn(sleeps_twice, &l);
    wait_count(&l.started, 1);
    cr_assert_eq(braid_sleep(5 * MS), 0);
    cr_assert_eq(braid_task_done(t), 0);
    cr_assert_eq(braid_cancel(t), 1);
    cr_assert_eq(braid_cancel(t), 1);
    int64_t r = -1;
    cr_assert_eq(braid_await(t, &r), 0);
    cr_assert_eq(r, 42);
    cr_assert_eq(l.s1, -ECANCELED, "%s", braid_strerror(l.s1));
    cr_assert_eq(l.s2, 0, "the second cancel was delivered too: %s", braid_strerror(l.s2));
    braid_task_release(t);
    cr_assert_eq(braid_yield(), 0);
    return 0;
}

Test(badinput, cancel_twice, .timeout = 30)
{
    run_main(1, main_cancel_twice, NULL);
}

/* ====================================================================== */
/* yield_outside_a_coroutine                                               */
/* ====================================================================== */

typedef struct {
    int yield, sleep0, sleep_neg, sleep_ms, sleep_until, sleep_until_min;
    bool self_null;
    int64_t took;
} outside_log;

static void outside_calls(outside_log *l)
{
    int64_t t0 = braid_now();
    l->yield = braid_yield();
    l->sleep0 = braid_sleep(0);
    l->sleep_neg = braid_sleep(-1);
    l->sleep_ms = braid_sleep(50 * MS);
    l->sleep_until = braid_sleep_until(braid_now() + 50 * MS);
    l->sleep_until_min = braid_sleep_until(INT64_MIN);
    l->self_null = braid_self() == NULL;
    l->took = braid_now() - t0;
}

static void check_outside(const outside_log *l, const char *who)
{
    cr_assert_eq(l->yield, -EPERM, "%s: braid_yield: %s", who, braid_strerror(l->yield));
    cr_assert_eq(l->sleep0, -EPERM, "%s: braid_sleep(0): %s", who, braid_strerror(l->sleep0));
    cr_assert_eq(l->sleep_neg, -EPERM, "%s: braid_sleep(-1): %s", who,
                 braid_strerror(l->sleep_neg));
    cr_assert_eq(l->sleep_ms, -EPERM, "%s: braid_sleep(50 ms): %s", who,
                 braid_strerror(l->sleep_ms));
    cr_assert_eq(l->sleep_until, -EPERM, "%s: braid_sleep_until: %s", who,
                 braid_strerror(l->sleep_until));
    cr_assert_eq(l->sleep_until_min, -EPERM, "%s: braid_sleep_until(INT64_MIN): %s", who,
                 braid_strerror(l->sleep_until_min));
    cr_assert(l->self_null, "%s: braid_self is not NULL", who);
    cr_assert_lt(l->took, 45 * MS, "%s: a refused sleep slept (%lld ms)", who, ms_of(l->took));
}

static void *outside_thread(void *arg)
{
    outside_calls(arg);
    return NULL;
}

static outside_log hook_log;
static atomic_int hook_log_done;

static void outside_in_hook(unsigned worker, void *arg)
{
    (void)arg;
    if (worker == 0) {
        outside_calls(&hook_log);
        atomic_store(&hook_log_done, 1);
    }
}

static int64_t outside_in_pool(void *arg)
{
    outside_calls(arg);
    return 0;
}

static int64_t main_pool_outside(void *arg)
{
    int64_t r = -1;
    cr_assert_eq(braid_blocking(outside_in_pool, arg, &r), 0);
    cr_assert_eq(r, 0);
    return 0;
}

Test(badinput, yield_outside_a_coroutine, .timeout = 30)
{
    outside_log a;
    outside_calls(&a);
    check_outside(&a, "the test thread");
    cr_assert_null(braid_current());
    cr_assert_eq(braid_worker_id(), -1);
    outside_log b;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, outside_thread, &b), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    check_outside(&b, "a pthread");
    /* A worker thread, before it runs any task. */
    atomic_store(&hook_log_done, 0);
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 2;
    o.on_worker_start = outside_in_hook;
    braid_rt *rt;
    cr_assert_eq(braid_rt_new(&rt, &o), 0);
    while (atomic_load(&hook_log_done) == 0)
        plain_sleep_ms(1);
    check_outside(&hook_log, "a worker's start hook");
    /* A thread of the blocking pool, inside braid_blocking's fn. */
    outside_log c;
    cr_assert_eq(braid_rt_block_on(rt, main_pool_outside, &c, NULL), 0);
    check_outside(&c, "a blocking-pool thread");
    rt_done(rt);
}

/* ====================================================================== */
/* deadlines: negative, past, INT64_MAX                                    */
/* ====================================================================== */

/* One waiting verb with a deadline, on an object that is not ready. */
typedef struct dctx {
    braid_event *ev;
    braid_task *t;
    braid_waitset *ws;
    braid_mutex *x;
    braid_task *holder;
    atomic_int locked;
    braid_sem *s;
    braid_cond *c;
    braid_chan *ch;
    braid_future *f;
    int sv[2];
    int lfd, cfd, cfd2;
    struct sockaddr_storage addr;
    socklen_t alen;
    atomic_int gate, gone;
} dctx;

typedef struct dform {
    const char *name;
    void (*setup)(dctx *c);
    int64_t (*wait)(dctx *c, int64_t deadline);
    /* Make the wait succeed (from another coroutine, later); NULL: this
     * form is checked for timeouts only. */
    void (*ready)(dctx *c);
    /* After ready, until a wait would succeed at once; NULL: nothing to
     * wait for. now_ok: "ready, then wait with a past deadline" must
     * succeed (false where readiness cannot be observed at once). */
    void (*settle)(dctx *c);
    bool now_ok;
    int64_t ok; /* what wait returns once ready */
    void (*teardown)(dctx *c);
} dform;

static void dctx_init(dctx *c)
{
    memset(c, 0, sizeof *c);
    c->sv[0] = c->sv[1] = c->lfd = c->cfd = c->cfd2 = -1;
    atomic_init(&c->locked, 0);
    atomic_init(&c->gate, 0);
    atomic_init(&c->gone, 0);
}

/* -- a task that waits for an event (await_until, join, waitset, wait) -- */

static void task_setup(dctx *c)
{
    cr_assert_eq(braid_event_new(&c->ev), 0);
    c->t = spawn(wait_event_ret7, c->ev);
}

static void task_ready(dctx *c)
{
    cr_assert_eq(braid_event_set(c->ev), 0);
}

static void task_settle(dctx *c)
{
    cr_assert_eq(braid_await(c->t, NULL), 0);
}

static void task_teardown(dctx *c)
{
    if (c->ws != NULL)
        braid_waitset_free(c->ws);
    cr_assert_eq(braid_event_set(c->ev), 0);
    int64_t r = -1;
    cr_assert_eq(braid_await(c->t, &r), 0, "the awaited task was touched by the timeout");
    cr_assert_eq(r, 7);
    braid_task_release(c->t);
    braid_event_free(c->ev);
}

static int64_t w_await_until(dctx *c, int64_t dl)
{
    int64_t v = -1;
    int r = braid_await_until(c->t, &v, dl);
    return r != 0 ? r : v;
}

static int64_t w_join(dctx *c, int64_t dl)
{
    int64_t v = -1;
    int r = braid_join(c->t, &v, dl);
    return r != 0 ? r : v;
}

static void waitset_setup(dctx *c)
{
    task_setup(c);
    cr_assert_eq(braid_waitset_new(&c->ws, &c->t, 1), 0);
}

static int64_t w_waitset_next(dctx *c, int64_t dl)
{
    size_t i = 99;
    int r = braid_waitset_next(c->ws, dl, &i);
    return r != 0 ? r : 100 + (int64_t)i;
}

static int64_t w_wait(dctx *c, int64_t dl)
{
    size_t nd = 99;
    int r = braid_wait(&c->t, 1, BRAID_WAIT_ALL, dl, &nd);
    if (r == -ETIMEDOUT && nd != 0)
        return -1000; /* *ndone wrong */
    return r != 0 ? r : 200 + (int64_t)nd;
}

/* -- sync objects -- */

static void event_setup(dctx *c)
{
    cr_assert_eq(braid_event_new(&c->ev), 0);
}

static int64_t w_event(dctx *c, int64_t dl)
{
    return braid_event_wait_until(c->ev, dl);
}

static void event_ready(dctx *c)
{
    cr_assert_eq(braid_event_set(c->ev), 0);
}

static void event_teardown(dctx *c)
{
    braid_event_free(c->ev);
}

static int64_t hold_mutex(void *arg)
{
    dctx *c = arg;
    cr_assert_eq(braid_mutex_lock(c->x), 0);
    atomic_store(&c->locked, 1);
    cr_assert_eq(braid_event_wait(c->ev), 0);
    cr_assert_eq(braid_mutex_unlock(c->x), 0);
    return 0;
}

static void mutex_setup(dctx *c)
{
    cr_assert_eq(braid_mutex_new(&c->x), 0);
    cr_assert_eq(braid_event_new(&c->ev), 0);
    c->holder = spawn(hold_mutex, c);
    wait_count(&c->locked, 1);
}

static int64_t w_mutex(dctx *c, int64_t dl)
{
    int r = braid_mutex_lock_until(c->x, dl);
    if (r == 0 && braid_mutex_unlock(c->x) != 0)
        return -1001; /* success without ownership */
    return r;
}

static void mutex_settle(dctx *c)
{
    cr_assert_eq(braid_await(c->holder, NULL), 0);
}

static void mutex_teardown(dctx *c)
{
    cr_assert_eq(braid_event_set(c->ev), 0);
    join(c->holder, 0);
    cr_assert_eq(braid_mutex_trylock(c->x), 0, "the mutex is free again");
    cr_assert_eq(braid_mutex_unlock(c->x), 0);
    braid_mutex_free(c->x);
    braid_event_free(c->ev);
}

static void sem_setup(dctx *c)
{
    cr_assert_eq(braid_sem_new(&c->s, 0, 0), 0);
}

static int64_t w_sem(dctx *c, int64_t dl)
{
    return braid_sem_acquire_until(c->s, dl);
}

static void sem_ready(dctx *c)
{
    cr_assert_eq(braid_sem_release(c->s), 0);
}

static void sem_teardown(dctx *c)
{
    cr_assert_eq(braid_sem_value(c->s), 0, "a permit was lost or made up");
    braid_sem_free(c->s);
}

static void cond_setup(dctx *c)
{
    cr_assert_eq(braid_cond_new(&c->c), 0);
    cr_assert_eq(braid_mutex_new(&c->x), 0);
}

static int64_t w_cond(dctx *c, int64_t dl)
{
    cr_assert_eq(braid_mutex_lock(c->x), 0);
    int r = braid_cond_wait_until(c->c, c->x, dl);
    if (braid_mutex_unlock(c->x) != 0)
        return -1002; /* returned without the mutex */
    return r;
}

static void cond_ready(dctx *c)
{
    /* A condition has no memory: notify until a waiter took it. */
    int64_t give_up = braid_now() + 5 * SEC;
    for (;;) {
        cr_assert_eq(braid_mutex_lock(c->x), 0);
        int n = braid_cond_notify(c->c, 1);
        cr_assert_eq(braid_mutex_unlock(c->x), 0);
        if (n == 1)
            return;
        cr_assert_lt(braid_now(), give_up, "no waiter on the condition");
        cr_assert_eq(braid_sleep(MS), 0);
    }
}

static void cond_teardown(dctx *c)
{
    braid_cond_free(c->c);
    braid_mutex_free(c->x);
}

static void chan_full_setup(dctx *c)
{
    cr_assert_eq(braid_chan_new(&c->ch, 1), 0);
    cr_assert_eq(braid_chan_try_send(c->ch, 1), 0);
}

static int64_t w_chan_send(dctx *c, int64_t dl)
{
    return braid_chan_send_until(c->ch, 2, dl);
}

static void chan_take(dctx *c)
{
    intptr_t v = 0;
    cr_assert_eq(braid_chan_try_recv(c->ch, &v), 0);
    cr_assert_eq(v, 1);
}

static void chan_send_teardown(dctx *c)
{
    intptr_t v = 0;
    long n = braid_chan_len(c->ch);
    /* Timed out: the 1 is still there; succeeded: the 2 took its place. */
    cr_assert_eq(n, 1);
    cr_assert_eq(braid_chan_try_recv(c->ch, &v), 0);
    cr_assert(v == 1 || v == 2);
    braid_chan_free(c->ch);
}

static void chan_empty_setup(dctx *c)
{
    cr_assert_eq(braid_chan_new(&c->ch, 1), 0);
}

static int64_t w_chan_recv(dctx *c, int64_t dl)
{
    intptr_t v = 0;
    int r = braid_chan_recv_until(c->ch, &v, dl);
    return r != 0 ? r : (int64_t)v;
}

static void chan_put5(dctx *c)
{
    cr_assert_eq(braid_chan_try_send(c->ch, 5), 0);
}

static void chan_teardown(dctx *c)
{
    braid_chan_free(c->ch);
}

static void future_setup(dctx *c)
{
    cr_assert_eq(braid_future_new(&c->f), 0);
}

static int64_t w_future(dctx *c, int64_t dl)
{
    int64_t v = -1;
    int r = braid_future_await_until(c->f, &v, dl);
    return r != 0 ? r : v;
}

static void future_ready(dctx *c)
{
    cr_assert_eq(braid_future_resolve(c->f, 9), 0);
}

static void future_teardown(dctx *c)
{
    braid_future_free(c->f);
}

/* -- the blocking pool -- */

static int64_t gated(void *arg)
{
    dctx *c = arg;
    while (atomic_load(&c->gate) == 0)
        plain_sleep_ms(1);
    atomic_store(&c->gone, 1);
    return 11;
}

static void pool_setup(dctx *c)
{
    (void)c;
}

static int64_t w_blocking(dctx *c, int64_t dl)
{
    int64_t v = -1;
    int r = braid_blocking_until(gated, c, &v, dl);
    return r != 0 ? r : v;
}

static void pool_ready(dctx *c)
{
    atomic_store(&c->gate, 1);
}

static void pool_teardown(dctx *c)
{
    /* fn still runs to its end after a timeout: c must outlive it. */
    atomic_store(&c->gate, 1);
    int64_t give_up = braid_now() + 5 * SEC;
    while (atomic_load(&c->gone) == 0) {
        cr_assert_lt(braid_now(), give_up, "the abandoned blocking job never ran");
        cr_assert_eq(braid_sleep(MS), 0);
    }
}

/* -- I/O -- */

static void io_setup(dctx *c)
{
    upair(c->sv);
}

static void io_full_setup(dctx *c)
{
    upair(c->sv);
    set_bufs(c->sv[0], 4096, 0);
    fill(c->sv[0]);
}

static void io_ready_read(dctx *c)
{
    cr_assert_eq(write(c->sv[1], "x", 1), 1);
}

static void io_ready_write(dctx *c)
{
    drain(c->sv[1]);
}

static void io_teardown(dctx *c)
{
    close(c->sv[0]);
    close(c->sv[1]);
}

static int64_t w_wait_fd(dctx *c, int64_t dl)
{
    int r = braid_wait_fd(c->sv[0], BRAID_READABLE, dl);
    return r > 0 ? (int64_t)(r & BRAID_READABLE) : r;
}

static int64_t w_read(dctx *c, int64_t dl)
{
    char b[8];
    return braid_read(c->sv[0], b, sizeof b, dl);
}

static int64_t w_recv(dctx *c, int64_t dl)
{
    char b[8];
    return braid_recv(c->sv[0], b, sizeof b, 0, dl);
}

static int64_t w_read_full(dctx *c, int64_t dl)
{
    char b[8];
    size_t done = 99;
    ssize_t r = braid_read_full(c->sv[0], b, 1, dl, &done);
    if (r < 0 && done != 0)
        return -1003;
    return r;
}

static int64_t w_write(dctx *c, int64_t dl)
{
    return braid_write(c->sv[0], "x", 1, dl);
}

static int64_t w_send(dctx *c, int64_t dl)
{
    return braid_send(c->sv[0], "x", 1, 0, dl);
}

static int64_t w_write_all(dctx *c, int64_t dl)
{
    size_t done = 99;
    ssize_t r = braid_write_all(c->sv[0], "x", 1, dl, &done);
    if (r < 0 && done != 0)
        return -1004;
    return r;
}

static atomic_int unix_names;

static void accept_setup(dctx *c)
{
    c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    cr_assert_geq(c->lfd, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "braid-badinput-%d-%d", (int)getpid(),
                     atomic_fetch_add(&unix_names, 1));
    c->alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    memcpy(&c->addr, &a, sizeof a);
    cr_assert_eq(bind(c->lfd, (struct sockaddr *)&c->addr, c->alen), 0, "bind: %s",
                 strerror(errno));
    cr_assert_eq(listen(c->lfd, 4), 0);
}

static int64_t w_accept(dctx *c, int64_t dl)
{
    int fd = braid_accept(c->lfd, NULL, NULL, dl);
    if (fd >= 0) {
        cr_assert_eq(braid_close(fd), 0); /* braid made it: braid_close (braid.h) */
        return 0;
    }
    return fd;
}

static void accept_ready(dctx *c)
{
    c->cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    cr_assert_geq(c->cfd, 0);
    cr_assert_eq(connect(c->cfd, (struct sockaddr *)&c->addr, c->alen), 0, "connect: %s",
                 strerror(errno));
}

static void sock_teardown(dctx *c)
{
    if (c->lfd >= 0)
        close(c->lfd);
    if (c->cfd >= 0)
        close(c->cfd);
    if (c->cfd2 >= 0)
        close(c->cfd2);
}

/* A TCP connect that cannot complete: a loopback listener with backlog 0
 * whose one queued connection is never accepted drops further SYNs. */
static void connect_setup(dctx *c)
{
    c->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(c->lfd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(c->lfd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(c->lfd, 0), 0);
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(c->lfd, (struct sockaddr *)&a, &len), 0);
    memcpy(&c->addr, &a, sizeof a);
    c->alen = sizeof a;
    c->cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_eq(connect(c->cfd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s",
                 strerror(errno));
    c->cfd2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    cr_assert_geq(c->cfd2, 0);
}

static int64_t w_connect(dctx *c, int64_t dl)
{
    return braid_connect(c->cfd2, (struct sockaddr *)&c->addr, c->alen, dl);
}

static const dform forms[] = {
    {"braid_await_until", task_setup, w_await_until, task_ready, task_settle, true, 7,
     task_teardown},
    {"braid_join (coroutine)", task_setup, w_join, task_ready, task_settle, true, 7, task_teardown},
    {"braid_waitset_next", waitset_setup, w_waitset_next, task_ready, task_settle, true, 100,
     task_teardown},
    {"braid_wait", task_setup, w_wait, task_ready, task_settle, true, 201, task_teardown},
    {"braid_event_wait_until", event_setup, w_event, event_ready, NULL, true, 0, event_teardown},
    {"braid_mutex_lock_until", mutex_setup, w_mutex, event_ready, mutex_settle, true, 0,
     mutex_teardown},
    {"braid_sem_acquire_until", sem_setup, w_sem, sem_ready, NULL, true, 0, sem_teardown},
    {"braid_cond_wait_until", cond_setup, w_cond, cond_ready, NULL, false, 0, cond_teardown},
    {"braid_chan_send_until", chan_full_setup, w_chan_send, chan_take, NULL, true, 0,
     chan_send_teardown},
    {"braid_chan_recv_until", chan_empty_setup, w_chan_recv, chan_put5, NULL, true, 5,
     chan_teardown},
    {"braid_future_await_until", future_setup, w_future, future_ready, NULL, true, 9,
     future_teardown},
    {"braid_blocking_until", pool_setup, w_blocking, pool_ready, NULL, false, 11, pool_teardown},
    {"braid_wait_fd", io_setup, w_wait_fd, io_ready_read, NULL, true, BRAID_READABLE, io_teardown},
    {"braid_read", io_setup, w_read, io_ready_read, NULL, true, 1, io_teardown},
    {"braid_recv", io_setup, w_recv, io_ready_read, NULL, true, 1, io_teardown},
    {"braid_read_full", io_setup, w_read_full, io_ready_read, NULL, true, 1, io_teardown},
    {"braid_write", io_full_setup, w_write, io_ready_write, NULL, true, 1, io_teardown},
    {"braid_send", io_full_setup, w_send, io_ready_write, NULL, true, 1, io_teardown},
    {"braid_write_all", io_full_setup, w_write_all, io_ready_write, NULL, true, 1, io_teardown},
    {"braid_accept", accept_setup, w_accept, accept_ready, NULL, true, 0, sock_teardown},
    {"braid_connect", connect_setup, w_connect, NULL, NULL, false, 0, sock_teardown},
};
#define NFORMS (sizeof forms / sizeof forms[0])

/* A deadline computed when used: `rel` ns from now, or `abs` as is. */
typedef struct {
    const char *name;
    bool relative;
    int64_t v;
} dl_spec;

static int64_t dl_of(const dl_spec *d)
{
    return d->relative ? braid_now() + d->v : d->v;
}

/* Not ready: -ETIMEDOUT at once. Ready (where it can be): success at once. */
static void forms_time_out_at_once(const dl_spec *dls, size_t ndl)
{
    for (size_t k = 0; k < ndl; k++) {
        for (size_t i = 0; i < NFORMS; i++) {
            const dform *f = &forms[i];
            dctx c;
            dctx_init(&c);
            f->setup(&c);
            int64_t t0 = braid_now();
            int64_t r = f->wait(&c, dl_of(&dls[k]));
            int64_t el = braid_now() - t0;
            cr_expect_eq(r, -ETIMEDOUT, "%s, deadline %s, not ready: returned %lld (%s)", f->name,
                         dls[k].name, (long long)r, braid_strerror((int)r));
            cr_expect_lt(el, PROMPT, "%s, deadline %s: timed out after %lld ms", f->name,
                         dls[k].name, ms_of(el));
            f->teardown(&c);
            if (!f->now_ok)
                continue;
            dctx_init(&c);
            f->setup(&c);
            f->ready(&c);
            if (f->settle != NULL)
                f->settle(&c);
            t0 = braid_now();
            r = f->wait(&c, dl_of(&dls[k]));
            el = braid_now() - t0;
            cr_expect_eq(r, f->ok, "%s, deadline %s, ready: returned %lld (%s), expected %lld",
                         f->name, dls[k].name, (long long)r, braid_strerror((int)r),
                         (long long)f->ok);
            cr_expect_lt(el, PROMPT, "%s, deadline %s, ready: took %lld ms", f->name, dls[k].name,
                         ms_of(el));
            f->teardown(&c);
        }
    }
}

/* Extra forms: sleeps, wait_for, call_later, and plain-thread waits. */

typedef struct {
    braid_task *t;
    braid_future *f;
    int64_t deadline;
    int join, fut;
    int64_t took;
} plain_waits;

static void *plain_waits_thread(void *arg)
{
    plain_waits *p = arg;
    int64_t t0 = braid_now();
    p->join = braid_join(p->t, NULL, p->deadline);
    p->fut = braid_future_await_until(p->f, NULL, p->deadline);
    p->took = braid_now() - t0;
    return NULL;
}

static void plain_waits_time_out(braid_task *t, braid_future *f, const dl_spec *d)
{
    plain_waits p = {.t = t, .f = f, .deadline = dl_of(d)};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, plain_waits_thread, &p), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_eq(p.join, -ETIMEDOUT, "braid_join from a plain thread, deadline %s: %s", d->name,
                 braid_strerror(p.join));
    cr_assert_eq(p.fut, -ETIMEDOUT, "braid_future_await_until from a plain thread, deadline %s: %s",
                 d->name, braid_strerror(p.fut));
    cr_assert_lt(p.took, PROMPT, "plain-thread waits, deadline %s: %lld ms", d->name,
                 ms_of(p.took));
}

static int64_t sleeps_forever(void *arg)
{
    (void)arg;
    return braid_sleep(BRAID_FOREVER);
}

typedef struct {
    const dl_spec *dls;
    size_t n;
} dl_list;

static int64_t main_deadlines_at_once(void *arg)
{
    const dl_list *l = arg;
    forms_time_out_at_once(l->dls, l->n);
    for (size_t k = 0; k < l->n; k++) {
        const dl_spec *d = &l->dls[k];
        /* Sleeps: a deadline already past behaves as braid_yield. */
        int64_t t0 = braid_now();
        cr_assert_eq(braid_sleep_until(dl_of(d)), 0, "braid_sleep_until(%s)", d->name);
        if (!d->relative) /* as a relative time: <= 0 behaves as a yield, 1 ns nearly */
            cr_assert_eq(braid_sleep(d->v), 0, "braid_sleep(%s)", d->name);
        cr_assert_lt(braid_now() - t0, PROMPT, "sleep(%s) slept", d->name);
        /* call_later with a delay <= 0 (or 1 ns): soon. */
        if (!d->relative) {
            atomic_int ran;
            atomic_init(&ran, 0);
            braid_task *h;
            cr_assert_eq(braid_call_later(braid_current(), &h, d->v, mark_cb, &ran), 0);
            t0 = braid_now();
            cr_assert_eq(braid_await(h, NULL), 0);
            cr_assert_lt(braid_now() - t0, PROMPT);
            cr_assert_eq(atomic_load(&ran), 1, "call_later(%s) did not call", d->name);
            braid_task_release(h);
        }
        /* wait_for with a timeout <= 0 (or 1 ns): the task is cancelled, awaited,
         * and the call says -ETIMEDOUT; an ended task gives its result. */
        if (!d->relative) {
            braid_task *t = spawn(sleeps_forever, NULL);
            t0 = braid_now();
            int64_t r = -1;
            cr_assert_eq(braid_wait_for(t, d->v, &r), -ETIMEDOUT, "braid_wait_for(%s)", d->name);
            cr_assert_lt(braid_now() - t0, PROMPT);
            cr_assert_eq(braid_task_done(t), 1,
                         "wait_for returned before the cancelled task ended");
            cr_assert_eq(braid_await(t, NULL), -ECANCELED);
            braid_task_release(t);
            t = spawn(ret_arg, ARG(3));
            cr_assert_eq(braid_await(t, NULL), 0);
            r = -1;
            cr_assert_eq(braid_wait_for(t, d->v, &r), 0, "braid_wait_for(%s) of an ended task",
                         d->name);
            cr_assert_eq(r, 3);
            braid_task_release(t);
        }
    }
    return 0;
}

static void run_deadlines_at_once(const dl_spec *dls, size_t n)
{
    dl_list l = {dls, n};
    for (unsigned nw = 1; nw <= 2; nw++) {
        braid_rt *rt = rt_make(nw);
        cr_assert_eq(braid_rt_block_on(rt, main_deadlines_at_once, &l, NULL), 0);
        /* From a plain thread: braid_join and futures. */
        braid_event *e;
        cr_assert_eq(braid_event_new(&e), 0);
        braid_task *t;
        cr_assert_eq(braid_rt_spawn(rt, &t, wait_event_ret7, e), 0);
        braid_future *f;
        cr_assert_eq(braid_future_new(&f), 0);
        for (size_t k = 0; k < n; k++)
            plain_waits_time_out(t, f, &dls[k]);
        cr_assert_eq(braid_event_set(e), 0);
        cr_assert_eq(braid_join(t, NULL, BRAID_FOREVER), 0);
        braid_task_release(t);
        braid_future_free(f);
        braid_event_free(e);
        rt_done(rt);
    }
    /* braid_rt_shutdown: a deadline already past does not wait, but it
     * still refuses spawns and cancels every task (braid.h). */
    for (size_t k = 0; k < n; k++) {
        braid_rt *rt = rt_make(2);
        braid_task *t;
        cr_assert_eq(braid_rt_spawn(rt, &t, sleeps_forever, NULL), 0);
        plain_sleep_ms(5);
        size_t running = 99;
        int64_t t0 = braid_now();
        int err = braid_rt_shutdown(rt, dl_of(&dls[k]), &running, 0);
        cr_assert_lt(braid_now() - t0, PROMPT, "braid_rt_shutdown(%s) waited", dls[k].name);
        /* The task may have ended on its cancel before the count, or not. */
        cr_assert(err == -ETIMEDOUT ? running == 1 : (err == 0 && running == 0),
                  "braid_rt_shutdown(%s): %s, %zu running", dls[k].name, braid_strerror(err),
                  running);
        cr_assert_eq(braid_rt_spawn(rt, NULL, nop, NULL), -ESHUTDOWN);
        int st = braid_join(t, NULL, braid_now() + SEC);
        cr_assert_eq(st, -ECANCELED,
                     "braid_rt_shutdown(%s) did not cancel the running task: join gave %s",
                     dls[k].name, braid_strerror(st));
        braid_task_release(t);
        rt_shutdown(rt);
    }
}

Test(badinput, negative_deadline, .timeout = 60)
{
    static const dl_spec dls[] = {
        {"INT64_MIN", false, INT64_MIN},
        {"-1 s", false, -BRAID_SEC},
        {"-1", false, -1},
    };
    run_deadlines_at_once(dls, sizeof dls / sizeof dls[0]);
}

Test(badinput, past_deadline, .timeout = 60)
{
    static const dl_spec dls[] = {
        {"0", false, 0},
        {"1", false, 1},
        {"now - 1 ms", true, -MS},
        {"now", true, 0},
    };
    run_deadlines_at_once(dls, sizeof dls / sizeof dls[0]);
}

/* INT64_MAX (BRAID_FOREVER) and INT64_MAX - 1: no deadline; the call waits
 * until the object is ready. */

typedef struct {
    const dform *f;
    dctx *c;
} ready_job;

static int64_t ready_later(void *arg)
{
    ready_job *j = arg;
    cr_assert_eq(braid_sleep(20 * MS), 0);
    j->f->ready(j->c);
    return 0;
}

static int64_t sleeper_until(void *arg)
{
    return braid_sleep_until(IARG(arg));
}

static int64_t sleeper_for(void *arg)
{
    return braid_sleep(IARG(arg));
}

static int64_t ret_after(void *arg)
{
    braid_sleep(20 * MS);
    return IARG(arg);
}

static int64_t resolve_later(void *arg)
{
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(braid_future_resolve(arg, 9), 0);
    return 0;
}

static void expect_sleeps_until_cancelled(braid_fn fn, int64_t arg, const char *what)
{
    braid_task *t = spawn(fn, ARG(arg));
    cr_assert_eq(braid_sleep(30 * MS), 0);
    cr_assert_eq(braid_task_done(t), 0, "%s ended on its own", what);
    cr_assert_eq(braid_cancel(t), 1);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_await(t, NULL), -ECANCELED, "%s", what);
    cr_assert_lt(braid_now() - t0, PROMPT);
    braid_task_release(t);
}

static int64_t main_forever(void *arg)
{
    (void)arg;
    static const int64_t dls[] = {INT64_MAX, INT64_MAX - 1};
    static const char *const names[] = {"INT64_MAX", "INT64_MAX - 1"};
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < NFORMS; i++) {
            const dform *f = &forms[i];
            if (f->ready == NULL)
                continue;
            dctx c;
            dctx_init(&c);
            f->setup(&c);
            ready_job j = {f, &c};
            braid_task *h = spawn(ready_later, &j);
            int64_t t0 = braid_now();
            int64_t r = f->wait(&c, dls[k]);
            int64_t el = braid_now() - t0;
            cr_assert_eq(r, f->ok, "%s, deadline %s: returned %lld (%s), expected %lld", f->name,
                         names[k], (long long)r, braid_strerror((int)r), (long long)f->ok);
            cr_assert_geq(el, 15 * MS, "%s, deadline %s: returned after %lld ms, before it was "
                          "ready", f->name, names[k], ms_of(el));
            join(h, 0);
            f->teardown(&c);
        }
    }
    expect_sleeps_until_cancelled(sleeper_until, INT64_MAX, "braid_sleep_until(INT64_MAX)");
    expect_sleeps_until_cancelled(sleeper_until, INT64_MAX - 1, "braid_sleep_until(INT64_MAX - 1)");
    expect_sleeps_until_cancelled(sleeper_for, INT64_MAX, "braid_sleep(INT64_MAX)");
    expect_sleeps_until_cancelled(sleeper_for, INT64_MAX - braid_now() + 1,
                                  "braid_sleep(overflowing now + ns)");
    /* wait_for(INT64_MAX): waits. */
    braid_task *t = spawn(ret_after, ARG(4));
    int64_t r = -1;
    cr_assert_eq(braid_wait_for(t, INT64_MAX, &r), 0);
    cr_assert_eq(r, 4);
    braid_task_release(t);
    /* call_later(INT64_MAX): never calls; cancel calls it off. */
    atomic_int ran;
    atomic_init(&ran, 0);
    braid_task *h;
    cr_assert_eq(braid_call_later(braid_current(), &h, INT64_MAX, mark_cb, &ran), 0);
    cr_assert_eq(braid_sleep(30 * MS), 0);
    cr_assert_eq(braid_task_done(h), 0);
    cr_assert_eq(braid_cancel(h), 1);
    cr_assert_eq(braid_await(h, NULL), -ECANCELED);
    cr_assert_eq(atomic_load(&ran), 0);
    braid_task_release(h);
    return 0;
}

Test(badinput, int64_max_deadline, .timeout = 60)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        braid_rt *rt = rt_make(nw);
        cr_assert_eq(braid_rt_block_on(rt, main_forever, NULL, NULL), 0);
        /* A plain thread joining, and awaiting a future, without deadline. */
        static const int64_t dls[] = {INT64_MAX, INT64_MAX - 1};
        for (size_t k = 0; k < 2; k++) {
            braid_task *t;
            cr_assert_eq(braid_rt_spawn(rt, &t, ret_after, ARG(8)), 0);
            int64_t t0 = braid_now(), v = -1;
            cr_assert_eq(braid_join(t, &v, dls[k]), 0);
            cr_assert_eq(v, 8);
            cr_assert_geq(braid_now() - t0, 15 * MS);
            braid_task_release(t);
            braid_future *f;
            cr_assert_eq(braid_future_new(&f), 0);
            cr_assert_eq(braid_rt_spawn(rt, &t, resolve_later, f), 0);
            t0 = braid_now();
            v = -1;
            cr_assert_eq(braid_future_await_until(f, &v, dls[k]), 0);
            cr_assert_eq(v, 9);
            cr_assert_geq(braid_now() - t0, 15 * MS);
            cr_assert_eq(braid_join(t, NULL, BRAID_FOREVER), 0);
            braid_task_release(t);
            braid_future_free(f);
        }
        rt_done(rt);
    }
    /* braid_rt_shutdown(INT64_MAX): waits until every task ended. */
    braid_rt *rt = rt_make(2);
    braid_task *t;
    cr_assert_eq(braid_rt_spawn(rt, &t, sleeps_forever, NULL), 0);
    size_t running = 99;
    cr_assert_eq(braid_rt_shutdown(rt, INT64_MAX, &running, 0), 0);
    cr_assert_eq(running, 0);
    cr_assert_eq(braid_join(t, NULL, BRAID_FOREVER), -ECANCELED);
    braid_task_release(t);
    rt_shutdown(rt);
}

/* ====================================================================== */
/* fds: -1, closed, reused                                                 */
/* ====================================================================== */

/* Every fd verb on fd gives -EBADF at once (deadlines far away). */
static void expect_ebadf_everywhere(int fd, const char *what)
{
    int64_t dl = braid_now() + 5 * SEC, t0 = braid_now();
    char buf[8];
    size_t done = 99;
    cr_assert_eq(braid_wait_fd(fd, BRAID_READABLE, dl), -EBADF, "%s: wait_fd readable", what);
    cr_assert_eq(braid_wait_fd(fd, BRAID_WRITABLE, dl), -EBADF, "%s: wait_fd writable", what);
    cr_assert_eq(braid_read(fd, buf, sizeof buf, dl), -EBADF, "%s: read", what);
    cr_assert_eq(braid_write(fd, "x", 1, dl), -EBADF, "%s: write", what);
    cr_assert_eq(braid_recv(fd, buf, sizeof buf, 0, dl), -EBADF, "%s: recv", what);
    cr_assert_eq(braid_send(fd, "x", 1, 0, dl), -EBADF, "%s: send", what);
    cr_assert_eq(braid_read_full(fd, buf, sizeof buf, dl, &done), -EBADF, "%s: read_full", what);
    cr_assert_eq(done, 0, "%s: read_full's *done", what);
    done = 99;
    cr_assert_eq(braid_write_all(fd, "xy", 2, dl, &done), -EBADF, "%s: write_all", what);
    cr_assert_eq(done, 0, "%s: write_all's *done", what);
    cr_assert_eq(braid_accept(fd, NULL, NULL, dl), -EBADF, "%s: accept", what);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(9);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(braid_connect(fd, (struct sockaddr *)&a, sizeof a, dl), -EBADF, "%s: connect",
                 what);
    cr_assert_eq(braid_fd_nonblock(fd), -EBADF, "%s: fd_nonblock", what);
    cr_assert_eq(braid_file_read(fd, buf, sizeof buf, -1), -EBADF, "%s: file_read", what);
    cr_assert_eq(braid_file_read(fd, buf, sizeof buf, 0), -EBADF, "%s: file_read at 0", what);
    cr_assert_eq(braid_file_write(fd, "x", 1, -1), -EBADF, "%s: file_write", what);
    cr_assert_eq(braid_file_close(fd), -EBADF, "%s: file_close", what);
    cr_assert_eq(braid_close(fd), -EBADF, "%s: close", what);
    int64_t el = braid_now() - t0;
    cr_assert_lt(el, PROMPT, "%s: the refusals took %lld ms", what, ms_of(el));
}

static int64_t main_fd_minus_one(void *arg)
{
    (void)arg;
    expect_ebadf_everywhere(-1, "fd -1");
    expect_ebadf_everywhere(INT_MIN, "fd INT_MIN");
    expect_ebadf_everywhere(INT_MAX, "fd INT_MAX");
    /* Nothing was disturbed: a real socket still works. */
    int sv[2];
    upair(sv);
    cr_assert_eq(braid_write(sv[1], "ok", 2, braid_now() + SEC), 2);
    char b[4];
    cr_assert_eq(braid_read(sv[0], b, sizeof b, braid_now() + SEC), 2);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

Test(badinput, fd_minus_one, .timeout = 30)
{
    run_main_1_and_2(main_fd_minus_one, NULL);
}

static int64_t main_closed_fd(void *arg)
{
    (void)arg;
    int sv[2];
    upair(sv);
    /* Closed with close(2), never used with braid. */
    int fd = dup(sv[0]);
    cr_assert_geq(fd, 0);
    cr_assert_eq(close(fd), 0);
    expect_ebadf_everywhere(fd, "an fd closed with close(2)");
    /* Used with braid (it has a slot, and was registered), then closed
     * with braid_close. */
    fd = dup(sv[0]);
    cr_assert_geq(fd, 0);
    cr_assert_eq(braid_write(sv[1], "a", 1, braid_now() + SEC), 1);
    cr_assert_eq(braid_wait_fd(fd, BRAID_READABLE, braid_now() + SEC) & BRAID_READABLE,
                 BRAID_READABLE);
    char b[4];
    cr_assert_eq(braid_read(fd, b, 1, braid_now() + SEC), 1);
    cr_assert_eq(braid_close(fd), 0);
    expect_ebadf_everywhere(fd, "an fd closed with braid_close");
    /* The other fds of the same socket are unaffected. */
    cr_assert_eq(braid_write(sv[1], "b", 1, braid_now() + SEC), 1);
    cr_assert_eq(braid_read(sv[0], b, 1, braid_now() + SEC), 1);
    cr_assert_eq(b[0], 'b');
    cr_assert_eq(braid_close(sv[0]), 0);
    cr_assert_eq(braid_close(sv[1]), 0);
    return 0;
}

Test(badinput, closed_fd, .timeout = 30)
{
    run_main_1_and_2(main_closed_fd, NULL);
}

typedef struct {
    int fd;
    unsigned events; /* 0: braid_read */
    atomic_int started;
    int64_t r;
    char buf[16];
} old_waiter;

static int64_t old_waiter_body(void *arg)
{
    old_waiter *w = arg;
    atomic_store(&w->started, 1);
    if (w->events == 0)
        w->r = braid_read(w->fd, w->buf, sizeof w->buf, braid_now() + 5 * SEC);
    else
        w->r = braid_wait_fd(w->fd, w->events, braid_now() + 5 * SEC);
    return 0;
}

/* A socket pair whose first end is fd number n (n was just closed). */
static void pair_at(int n, int sv[2])
{
    upair(sv);
    if (sv[0] != n && sv[1] == n) {
        int tmp = sv[0];
        sv[0] = sv[1];
        sv[1] = tmp;
    } else if (sv[0] != n) {
        cr_assert_eq(dup3(sv[0], n, O_CLOEXEC), n);
        close(sv[0]);
        sv[0] = n;
    }
}

static int64_t main_reused_fd(void *arg)
{
    (void)arg;
    for (int round = 0; round < 20; round++) {
        int a[2];
        upair(a);
        int n = a[0];
        old_waiter r = {.fd = n, .r = 12345}, w = {.fd = n, .events = BRAID_READABLE, .r = 12345};
        atomic_init(&r.started, 0);
        atomic_init(&w.started, 0);
        braid_task *rt_ = spawn(old_waiter_body, &r);
        braid_task *wt = spawn(old_waiter_body, &w);
        wait_count(&r.started, 1);
        wait_count(&w.started, 1);
        cr_assert_eq(braid_sleep(2 * MS), 0);
        /* Close (waking them with -EBADF), and before they run again the
         * number comes back as a new socket with data waiting. */
        cr_assert_eq(braid_close(n), 0);
        close(a[1]);
        int b[2];
        pair_at(n, b);
        cr_assert_eq(write(b[1], "fresh", 5), 5);
        join(rt_, 0);
        join(wt, 0);
        cr_assert_eq(r.r, -EBADF, "round %d: the old reader got %lld (%s)", round, (long long)r.r,
                     braid_strerror((int)r.r));
        cr_assert_eq(w.r, -EBADF, "round %d: the old wait_fd got %lld (%s)", round, (long long)w.r,
                     braid_strerror((int)w.r));
        /* The new fd works, its data intact (the old waiters took none). */
        char buf[16];
        ssize_t got = braid_read(n, buf, sizeof buf, braid_now() + 5 * SEC);
        cr_assert_eq(got, 5, "round %d: the new fd read %zd (%s)", round, got,
                     braid_strerror((int)got));
        cr_assert_eq(memcmp(buf, "fresh", 5), 0);
        /* And a new waiter on it wakes for new data. */
        old_waiter x = {.fd = n, .r = 12345};
        atomic_init(&x.started, 0);
        braid_task *xt = spawn(old_waiter_body, &x);
        wait_count(&x.started, 1);
        cr_assert_eq(braid_sleep(MS), 0);
        cr_assert_eq(braid_write(b[1], "again", 5, braid_now() + SEC), 5);
        join(xt, 0);
        cr_assert_eq(x.r, 5, "round %d: a new waiter on the reused fd: %lld (%s)", round,
                     (long long)x.r, braid_strerror((int)x.r));
        cr_assert_eq(memcmp(x.buf, "again", 5), 0);
        cr_assert_eq(braid_close(b[0]), 0);
        cr_assert_eq(braid_close(b[1]), 0);
    }
    return 0;
}

Test(badinput, reused_fd, .timeout = 30)
{
    run_main_1_and_2(main_reused_fd, NULL);
}

typedef struct {
    int fd;
    const char *msg;
} late_write;

static int64_t write_later(void *arg)
{
    late_write *l = arg;
    cr_assert_eq(braid_sleep(20 * MS), 0);
    size_t n = strlen(l->msg);
    return braid_write(l->fd, l->msg, n, braid_now() + SEC) == (ssize_t)n ? 0 : -EIO;
}

static int64_t main_reused_after_close2(void *arg)
{
    (void)arg;
    /* A socket braid made (braid_accept), used for a wait, then closed
     * with close(2) instead of braid_close (a slip braid.h warns about),
     * and no coroutine waits on it. A new fd of the caller's gets its
     * number: waiting on the new fd must work, not sleep past its data. */
    int l = -1, c = -1;
    cr_assert_eq(braid_tcp_listen("127.0.0.1", "0", 4, &l), 0);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)ntohs(a.sin_port));
    cr_assert_eq(braid_tcp_connect("127.0.0.1", port, braid_now() + 5 * SEC, &c), 0);
    int s = braid_accept(l, NULL, NULL, braid_now() + 5 * SEC);
    cr_assert_geq(s, 0, "braid_accept: %s", braid_strerror(s));
    late_write lw = {.fd = c, .msg = "first"};
    braid_task *h = spawn(write_later, &lw);
    char buf[16];
    cr_assert_eq(braid_read(s, buf, sizeof buf, braid_now() + 5 * SEC), 5);
    join(h, 0);
    cr_assert_eq(close(s), 0);
    int b[2];
    pair_at(s, b);
    lw = (late_write){.fd = b[1], .msg = "fresh"};
    h = spawn(write_later, &lw);
    int64_t t0 = braid_now();
    ssize_t r = braid_read(s, buf, sizeof buf, t0 + 2 * SEC);
    join(h, 0);
    cr_assert_eq(r, 5, "a wait on the new fd %d (its number freed by close(2) of a socket braid "
                 "made) returned %zd (%s) after %lld ms", s, r, braid_strerror((int)r),
                 ms_of(braid_now() - t0));
    cr_assert_eq(memcmp(buf, "fresh", 5), 0);
    cr_assert_eq(braid_close(b[0]), 0);
    cr_assert_eq(braid_close(b[1]), 0);
    cr_assert_eq(braid_close(c), 0);
    cr_assert_eq(braid_close(l), 0);
    return 0;
}

Test(badinput, reused_fd_after_close2, .timeout = 30)
{
    run_main_1_and_2(main_reused_after_close2, NULL);
}

/* ====================================================================== */
/* eintr_storm                                                             */
/* ====================================================================== */

#define STORM_MAX_TIDS 64
static atomic_int storm_ntids;
static atomic_int storm_tids[STORM_MAX_TIDS];
static atomic_int storm_stop;
static atomic_long storm_caught;
static atomic_long storm_sent;

static void storm_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&storm_caught, 1);
}

static void storm_add_tid(pid_t tid)
{
    int n = atomic_load(&storm_ntids);
    for (int i = 0; i < n; i++)
        if (atomic_load(&storm_tids[i]) == (int)tid)
            return;
    n = atomic_fetch_add(&storm_ntids, 1);
    if (n < STORM_MAX_TIDS)
        atomic_store(&storm_tids[n], (int)tid);
}

static void storm_worker_start(unsigned worker, void *arg)
{
    (void)worker;
    (void)arg;
    storm_add_tid(gettid_());
}

/* braid's threads: the workers (named braid-wN) and the blocking pool's
 * threads, which inherit the name of the worker that started them. */
static void storm_scan(void)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        if (fgets(comm, sizeof comm, f) != NULL && strncmp(comm, "braid-", 6) == 0)
            storm_add_tid((pid_t)atoi(e->d_name));
        fclose(f);
    }
    closedir(d);
}

static void *storm_sender(void *arg)
{
    (void)arg;
    pid_t pid = getpid();
    for (unsigned round = 0; !atomic_load(&storm_stop); round++) {
        if (round % 32 == 0)
            storm_scan();
        int n = atomic_load(&storm_ntids);
        if (n > STORM_MAX_TIDS)
            n = STORM_MAX_TIDS;
        for (int i = 0; i < n; i++) {
            int tid = atomic_load(&storm_tids[i]);
            if (tid != 0 && syscall(SYS_tgkill, pid, tid, SIGUSR2) == 0)
                atomic_fetch_add(&storm_sent, 1);
        }
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

#define STORM_PAIRS 4
#define STORM_BYTES (512 * 1024)

static unsigned char storm_pattern(size_t i, int k)
{
    return (unsigned char)((i * 131 + (size_t)k * 17 + (i >> 9)) & 0xff);
}

typedef struct {
    int fd, k;
    int64_t r;
} storm_io;

static int64_t storm_writer(void *arg)
{
    storm_io *s = arg;
    unsigned char buf[7000];
    size_t off = 0;
    int step = 0;
    while (off < STORM_BYTES) {
        size_t n = 1 + (size_t)((step * 2654435761u) % sizeof buf);
        if (n > STORM_BYTES - off)
            n = STORM_BYTES - off;
        for (size_t i = 0; i < n; i++)
            buf[i] = storm_pattern(off + i, s->k);
        ssize_t r;
        if (step % 2 == 0) {
            size_t done = 0;
            r = braid_write_all(s->fd, buf, n, BRAID_FOREVER, &done);
            if (r != (ssize_t)n)
                return s->r = r < 0 ? r : -EPROTO;
        } else {
            r = braid_write(s->fd, buf, n, BRAID_FOREVER);
            if (r <= 0)
                return s->r = r < 0 ? r : -EPROTO;
            n = (size_t)r;
        }
        off += n;
        step++;
    }
    s->r = (int64_t)off;
    return 0;
}

static int64_t storm_reader(void *arg)
{
    storm_io *s = arg;
    unsigned char buf[5000];
    size_t off = 0;
    while (off < STORM_BYTES) {
        ssize_t r = braid_read(s->fd, buf, sizeof buf, BRAID_FOREVER);
        if (r <= 0)
            return s->r = r < 0 ? r : -EPROTO; /* -EINTR, or an early end of file */
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != storm_pattern(off + (size_t)i, s->k))
                return s->r = -EILSEQ;
        off += (size_t)r;
    }
    s->r = (int64_t)off;
    return 0;
}

static int64_t storm_sleeper(void *arg)
{
    int64_t d = IARG(arg);
    for (int i = 0; i < 40; i++) {
        int64_t t0 = braid_now();
        int err = braid_sleep(d);
        if (err != 0)
            return err;
        if (braid_now() - t0 < d)
            return -EINTR; /* cut short */
    }
    return 0;
}

static int64_t storm_compute(void *arg)
{
    (void)arg;
    storm_add_tid(gettid_()); /* a blocking-pool thread: signal it too */
    uint64_t x = 1;
    int64_t end = braid_now() + 3 * MS;
    while (braid_now() < end)
        for (int i = 0; i < 1000; i++)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int64_t)(x & 0xffff) + 1;
}

static int64_t storm_blocking(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++) {
        int64_t r = 0;
        int err = braid_blocking(storm_compute, NULL, &r);
        if (err != 0)
            return err;
        if (r <= 0)
            return -EPROTO;
    }
    return 0;
}

static int64_t storm_timed(void *arg)
{
    /* A deadline that passes: -ETIMEDOUT, not early, not -EINTR. */
    braid_event *e = arg;
    for (int i = 0; i < 10; i++) {
        int64_t t0 = braid_now();
        int err = braid_event_wait_until(e, t0 + 4 * MS);
        if (err != -ETIMEDOUT)
            return err == 0 ? -EPROTO : err;
        if (braid_now() - t0 < 4 * MS)
            return -EINTR;
    }
    return 0;
}

static int64_t storm_pingpong(void *arg)
{
    braid_chan **ch = arg;
    for (intptr_t i = 0; i < 3000; i++) {
        int err = braid_chan_send(ch[0], i);
        if (err != 0)
            return err;
        intptr_t v = -1;
        if ((err = braid_chan_recv(ch[1], &v)) != 0)
            return err;
        if (v != i + 1)
            return -EILSEQ;
    }
    return 0;
}

static int64_t storm_echo(void *arg)
{
    braid_chan **ch = arg;
    for (int i = 0; i < 3000; i++) {
        intptr_t v = -1;
        int err = braid_chan_recv(ch[0], &v);
        if (err != 0)
            return err;
        if ((err = braid_chan_send(ch[1], v + 1)) != 0)
            return err;
    }
    return 0;
}

typedef struct {
    int fd;
    ssize_t r;
    char buf[8];
} pipe_job;

static ssize_t storm_file_r;

static void *pipe_writer(void *arg)
{
    plain_sleep_ms(100);
    return (void *)(intptr_t)write(*(int *)arg, "hello", 5);
}

/* braid_file_read on a blocking pipe: the pool thread sleeps in read(2)
 * while signals arrive. */
static int64_t storm_file_read(void *arg)
{
    pipe_job *j = arg;
    j->r = braid_file_read(j->fd, j->buf, sizeof j->buf, -1);
    return 0;
}

static int64_t main_storm(void *arg)
{
    (void)arg;
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pipe_job pj = {.fd = p[0], .r = 12345};
    braid_task *fr = spawn(storm_file_read, &pj);
    pthread_t pw;
    cr_assert_eq(pthread_create(&pw, NULL, pipe_writer, &p[1]), 0);
    int sv[STORM_PAIRS][2];
    storm_io wio[STORM_PAIRS], rio[STORM_PAIRS];
    braid_task *wt[STORM_PAIRS], *rtk[STORM_PAIRS];
    for (int k = 0; k < STORM_PAIRS; k++) {
        upair(sv[k]);
        set_bufs(sv[k][0], 8192, 0);
        wio[k] = (storm_io){.fd = sv[k][0], .k = k, .r = 12345};
        rio[k] = (storm_io){.fd = sv[k][1], .k = k, .r = 12345};
        wt[k] = spawn(storm_writer, &wio[k]);
        rtk[k] = spawn(storm_reader, &rio[k]);
    }
    braid_task *sl[6];
    for (int i = 0; i < 6; i++)
        sl[i] = spawn(storm_sleeper, ARG((i + 1) * MS));
    braid_task *bl = spawn(storm_blocking, NULL);
    braid_event *e;
    cr_assert_eq(braid_event_new(&e), 0);
    braid_task *tm = spawn(storm_timed, e);
    braid_chan *ch[2];
    cr_assert_eq(braid_chan_new(&ch[0], 1), 0);
    cr_assert_eq(braid_chan_new(&ch[1], 1), 0);
    braid_task *pp = spawn(storm_pingpong, ch);
    braid_task *ec = spawn(storm_echo, ch);
    for (int k = 0; k < STORM_PAIRS; k++) {
        join(wt[k], 0);
        join(rtk[k], 0);
        cr_assert_eq(wio[k].r, STORM_BYTES, "writer %d: %lld (%s)", k, (long long)wio[k].r,
                     braid_strerror((int)wio[k].r));
        cr_assert_eq(rio[k].r, STORM_BYTES, "reader %d: %lld (%s)", k, (long long)rio[k].r,
                     braid_strerror((int)rio[k].r));
        close(sv[k][0]);
        close(sv[k][1]);
    }
    for (int i = 0; i < 6; i++) {
        int st = braid_await(sl[i], NULL);
        cr_assert_eq(st, 0, "sleeper %d: %s", i, braid_strerror(st));
        braid_task_release(sl[i]);
    }
    int st = braid_await(bl, NULL);
    cr_assert_eq(st, 0, "braid_blocking: %s", braid_strerror(st));
    braid_task_release(bl);
    st = braid_await(tm, NULL);
    cr_assert_eq(st, 0, "timed waits: %s", braid_strerror(st));
    braid_task_release(tm);
    st = braid_await(pp, NULL);
    cr_assert_eq(st, 0, "channel ping-pong: %s", braid_strerror(st));
    braid_task_release(pp);
    join(ec, 0);
    braid_chan_free(ch[0]);
    braid_chan_free(ch[1]);
    braid_event_free(e);
    join(fr, 0);
    void *wr;
    pthread_join(pw, &wr);
    cr_assert_eq((intptr_t)wr, 5);
    storm_file_r = pj.r; /* checked once the storm is over */
    if (pj.r == 5)
        cr_assert_eq(memcmp(pj.buf, "hello", 5), 0);
    close(p[0]);
    close(p[1]);
    return 0;
}

Test(badinput, eintr_storm, .timeout = 60)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = storm_handler;
    sa.sa_flags = 0; /* no SA_RESTART: interrupted system calls fail with EINTR */
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGUSR2, &sa, &old), 0);
    atomic_store(&storm_ntids, 0);
    atomic_store(&storm_stop, 0);
    atomic_store(&storm_caught, 0);
    atomic_store(&storm_sent, 0);
    storm_add_tid(gettid_()); /* this thread blocks in block_on and join */
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 2;
    o.on_worker_start = storm_worker_start;
    braid_rt *rt;
    cr_assert_eq(braid_rt_new(&rt, &o), 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, storm_sender, NULL), 0);
    int st = braid_rt_block_on(rt, main_storm, NULL, NULL);
    /* A plain-thread join under fire, with a deadline that must not end early. */
    braid_task *t;
    cr_assert_eq(braid_rt_spawn(rt, &t, sleeps_forever, NULL), 0);
    int64_t t0 = braid_now();
    int jst = braid_join(t, NULL, t0 + 30 * MS);
    int64_t el = braid_now() - t0;
    cr_assert_eq(braid_cancel(t), 1);
    int jst2 = braid_join(t, NULL, BRAID_FOREVER);
    braid_task_release(t);
    atomic_store(&storm_stop, 1);
    pthread_join(th, NULL);
    cr_assert_eq(st, 0, "the workload under signals: %s", braid_strerror(st));
    cr_assert_eq(jst, -ETIMEDOUT, "braid_join under signals: %s", braid_strerror(jst));
    cr_assert_geq(el, 30 * MS, "braid_join's deadline ended early (%lld ms)", ms_of(el));
    cr_assert_eq(jst2, -ECANCELED);
    cr_assert_eq(storm_file_r, 5, "braid_file_read of a pipe while signals hit the blocking "
                 "pool's thread: %zd (%s)", storm_file_r, braid_strerror((int)storm_file_r));
    rt_done(rt);
    cr_assert_eq(sigaction(SIGUSR2, &old, NULL), 0);
    cr_assert_gt(atomic_load(&storm_caught), 1000, "only %ld signals were handled (%ld sent): "
                 "not a storm", atomic_load(&storm_caught), atomic_load(&storm_sent));
    cr_log_info("eintr_storm: %ld signals handled", atomic_load(&storm_caught));
}

/* ====================================================================== */
/* eagain_storm                                                            */
/* ====================================================================== */

#define DG_SENDERS 4
#define DG_RECEIVERS 4
#define DG_PER_SENDER 1500

static atomic_uchar dg_seen[DG_SENDERS][DG_PER_SENDER];

typedef struct {
    int fd, id;
    int64_t r;
} dg_job;

static int64_t dg_sender(void *arg)
{
    dg_job *j = arg;
    for (int i = 0; i < DG_PER_SENDER; i++) {
        int32_t msg[16] = {j->id, i};
        ssize_t r = braid_send(j->fd, msg, sizeof msg, 0, BRAID_FOREVER);
        if (r != (ssize_t)sizeof msg)
            return j->r = r < 0 ? r : -EPROTO;
    }
    j->r = 0;
    return 0;
}

static int64_t dg_receiver(void *arg)
{
    dg_job *j = arg;
    int64_t got = 0;
    for (;;) {
        int32_t msg[16];
        ssize_t r = braid_recv(j->fd, msg, sizeof msg, 0, BRAID_FOREVER);
        if (r != (ssize_t)sizeof msg)
            return j->r = r < 0 ? r : -EPROTO;
        if (msg[0] < 0)
            break; /* the end mark: one per receiver */
        if (msg[0] >= DG_SENDERS || msg[1] < 0 || msg[1] >= DG_PER_SENDER)
            return j->r = -EILSEQ;
        atomic_fetch_add(&dg_seen[msg[0]][msg[1]], 1);
        got++;
    }
    j->r = got;
    return 0;
}

typedef struct {
    int fd;
    int64_t count, sum, r;
} byte_job;

static int64_t byte_reader(void *arg)
{
    byte_job *j = arg;
    for (;;) {
        unsigned char c;
        ssize_t r = braid_read(j->fd, &c, 1, BRAID_FOREVER);
        if (r == 0)
            break;
        if (r != 1)
            return j->r = r;
        j->count++;
        j->sum += c;
    }
    j->r = 0;
    return 0;
}

static int64_t main_eagain_storm(void *arg)
{
    braid_rt *rt = braid_current();
    (void)arg;
    braid_stats s0, s1;
    cr_assert_eq(braid_rt_stats(rt, &s0), 0);
    /* Datagrams: several senders on one socket with a tiny buffer (their
     * sends keep meeting EAGAIN), several receivers on the other (all of
     * them are woken by one readiness, one gets the datagram). */
    memset(dg_seen, 0, sizeof dg_seen);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    set_bufs(sv[0], 4096, 0);
    dg_job snd[DG_SENDERS], rcv[DG_RECEIVERS];
    braid_task *st[DG_SENDERS], *rt_[DG_RECEIVERS];
    for (int i = 0; i < DG_RECEIVERS; i++) {
        rcv[i] = (dg_job){.fd = sv[1], .id = i, .r = 12345};
        rt_[i] = spawn(dg_receiver, &rcv[i]);
    }
    for (int i = 0; i < DG_SENDERS; i++) {
        snd[i] = (dg_job){.fd = sv[0], .id = i, .r = 12345};
        st[i] = spawn(dg_sender, &snd[i]);
    }
    for (int i = 0; i < DG_SENDERS; i++) {
        join(st[i], 0);
        cr_assert_eq(snd[i].r, 0, "sender %d: %s", i, braid_strerror((int)snd[i].r));
    }
    for (int i = 0; i < DG_RECEIVERS; i++) {
        int32_t end[16] = {-1};
        cr_assert_eq(braid_send(sv[0], end, sizeof end, 0, BRAID_FOREVER), (ssize_t)sizeof end);
    }
    int64_t total = 0;
    for (int i = 0; i < DG_RECEIVERS; i++) {
        join(rt_[i], 0);
        cr_assert_geq(rcv[i].r, 0, "receiver %d: %s", i, braid_strerror((int)rcv[i].r));
        total += rcv[i].r;
    }
    cr_assert_eq(total, DG_SENDERS * DG_PER_SENDER);
    for (int s = 0; s < DG_SENDERS; s++)
        for (int i = 0; i < DG_PER_SENDER; i++)
            cr_assert_eq(atomic_load(&dg_seen[s][i]), 1, "datagram %d/%d delivered %d times", s,
                         i, atomic_load(&dg_seen[s][i]));
    close(sv[0]);
    close(sv[1]);
    /* A stream: three readers of one byte each on one socket, a writer of
     * single bytes; every byte is read exactly once. */
    upair(sv);
    byte_job bj[3];
    braid_task *bt[3];
    for (int i = 0; i < 3; i++) {
        bj[i] = (byte_job){.fd = sv[1], .r = 12345};
        bt[i] = spawn(byte_reader, &bj[i]);
    }
    int64_t sum = 0;
    for (int i = 0; i < 3000; i++) {
        unsigned char c = (unsigned char)(i * 7);
        sum += c;
        cr_assert_eq(braid_write(sv[0], &c, 1, BRAID_FOREVER), 1);
        if (i % 3 == 0)
            cr_assert_eq(braid_yield(), 0);
    }
    cr_assert_eq(shutdown(sv[0], SHUT_WR), 0); /* end of file for every reader */
    int64_t count = 0, bsum = 0;
    for (int i = 0; i < 3; i++) {
        join(bt[i], 0);
        cr_assert_eq(bj[i].r, 0, "byte reader %d: %s", i, braid_strerror((int)bj[i].r));
        count += bj[i].count;
        bsum += bj[i].sum;
    }
    cr_assert_eq(count, 3000, "bytes read: %lld", (long long)count);
    cr_assert_eq(bsum, sum);
    close(sv[0]);
    close(sv[1]);
    cr_assert_eq(braid_rt_stats(rt, &s1), 0);
    cr_assert_gt(s1.io_waits - s0.io_waits, 100, "only %llu waits on an fd: no storm",
                 (unsigned long long)(s1.io_waits - s0.io_waits));
    return 0;
}

Test(badinput, eagain_storm, .timeout = 60)
{
    run_main_1_and_2(main_eagain_storm, NULL);
}

/* ====================================================================== */
/* io_uring_unavailable                                                    */
/* ====================================================================== */

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_epoll_pwait2
#define __NR_epoll_pwait2 441
#endif

static int64_t echo_server(void *arg)
{
    int l = (int)IARG(arg);
    int c = braid_accept(l, NULL, NULL, braid_now() + 5 * SEC);
    if (c < 0)
        return c;
    char buf[4096];
    ssize_t r;
    while ((r = braid_read(c, buf, sizeof buf, braid_now() + 5 * SEC)) > 0)
        if (braid_write_all(c, buf, (size_t)r, braid_now() + 5 * SEC, NULL) != r)
            return -EIO;
    braid_close(c);
    return r;
}

static int64_t echo_main(void *arg)
{
    (void)arg;
    int l = -1, c = -1;
    int err = braid_tcp_listen("127.0.0.1", "0", 16, &l);
    if (err != 0)
        return err;
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &len);
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)ntohs(a.sin_port));
    braid_task *srv;
    if ((err = braid_spawn(&srv, echo_server, ARG(l))) != 0)
        return err;
    if ((err = braid_tcp_connect("127.0.0.1", port, braid_now() + 5 * SEC, &c)) != 0)
        return err;
    static char out[65536], in[65536];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)(i * 13);
    if (braid_write_all(c, out, 16384, braid_now() + 5 * SEC, NULL) != 16384)
        return -EIO;
    if (braid_read_full(c, in, 16384, braid_now() + 5 * SEC, NULL) != 16384)
        return -EIO;
    if (memcmp(in, out, 16384) != 0)
        return -EILSEQ;
    /* A timed sleep through the (fallback) wait. */
    int64_t t0 = braid_now();
    if (braid_sleep(5 * MS) != 0 || braid_now() - t0 < 5 * MS)
        return -EINTR;
    braid_close(c);
    err = braid_await(srv, NULL);
    braid_task_release(srv);
    braid_close(l);
    return err;
}

/* In a forked child: refuse the given system calls with ENOSYS, check the
 * refusal took, run the echo. Exit code: 0 ok, 2 the filter, 3 braid. */
static int child_without(const int *nrs, int n)
{
#if defined(TEST_AUDIT_ARCH)
    struct sock_filter f[16];
    int k = 0;
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, arch));
    f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, nr));
    for (int i = 0; i < n; i++) /* match: jump to the ERRNO return at the end */
        f[k + i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i],
                                                (unsigned char)(n - i), 0);
    k += n;
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                          SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
    struct sock_fprog prog = {.len = (unsigned short)k, .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return 2;
    for (int i = 0; i < n; i++) {
        errno = 0;
        long r = syscall(nrs[i], 0, NULL, 0, 0, 0, 0);
        if (r != -1 || errno != ENOSYS)
            return 2;
    }
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 2;
    return braid_run(echo_main, NULL, &o, NULL) == 0 ? 0 : 3;
#else
    (void)nrs;
    (void)n;
    return 4;
#endif
}

static void expect_child_ok(const int *nrs, int n, const char *what)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
        _exit(child_without(nrs, n));
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "%s: the child died of signal %d", what,
              WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    if (WEXITSTATUS(st) == 4)
        cr_skip_test("no seccomp architecture constant for this machine");
    cr_assert_neq(WEXITSTATUS(st), 2, "%s: the seccomp filter did not install or did not take",
                  what);
    cr_assert_eq(WEXITSTATUS(st), 0, "%s: the echo over braid failed", what);
}

Test(badinput, io_uring_unavailable, .timeout = 60)
{
    /* braid's reactor is epoll only (sched/io.c): io_uring refused must
     * change nothing. epoll_pwait2 refused too (a kernel before 5.11, or a
     * sandbox) exercises the epoll_wait fallback in braid__reactor_poll. */
    static const int uring[] = {__NR_io_uring_setup};
    static const int both[] = {__NR_io_uring_setup, __NR_epoll_pwait2};
    expect_child_ok(uring, 1, "io_uring_setup refused");
    expect_child_ok(both, 2, "io_uring_setup and epoll_pwait2 refused");
}

/* ====================================================================== */
/* one_worker, more_workers_than_cores                                     */
/* ====================================================================== */

typedef struct {
    braid_chan *ch;
    braid_mutex *x;
    braid_barrier *b;
    int64_t counter;
} mix;

static int64_t mix_producer(void *arg)
{
    mix *m = arg;
    for (intptr_t i = 1; i <= 500; i++)
        if (braid_chan_send(m->ch, i) != 0)
            return -EPIPE;
    return braid_chan_close(m->ch);
}

static int64_t mix_consumer(void *arg)
{
    mix *m = arg;
    int64_t sum = 0;
    intptr_t v;
    int err;
    while ((err = braid_chan_recv(m->ch, &v)) == 0)
        sum += v;
    return err == -EPIPE ? sum : err;
}

static int64_t mix_locker(void *arg)
{
    mix *m = arg;
    for (int i = 0; i < 200; i++) {
        if (braid_mutex_lock(m->x) != 0)
            return -EDEADLK;
        int64_t c = m->counter;
        braid_yield(); /* holding it: the others queue */
        m->counter = c + 1;
        braid_mutex_unlock(m->x);
    }
    int idx = braid_barrier_wait(m->b);
    return idx >= 0 ? 0 : idx;
}

static int64_t mix_pool(void *arg)
{
    plain_sleep_ms(2);
    return IARG(arg) * 2;
}

static int64_t mix_io_peer(void *arg)
{
    int fd = (int)IARG(arg);
    char buf[64];
    ssize_t r = braid_read(fd, buf, sizeof buf, braid_now() + 10 * SEC);
    if (r <= 0)
        return r < 0 ? r : -EPIPE;
    return braid_write(fd, buf, (size_t)r, braid_now() + 10 * SEC);
}

static int64_t mixed_workload(void *arg)
{
    (void)arg;
    mix m = {0};
    cr_assert_eq(braid_chan_new(&m.ch, 1), 0);
    cr_assert_eq(braid_mutex_new(&m.x), 0);
    cr_assert_eq(braid_barrier_new(&m.b, 4), 0);
    braid_task *p = spawn(mix_producer, &m), *c = spawn(mix_consumer, &m);
    braid_task *lk[4];
    for (int i = 0; i < 4; i++)
        lk[i] = spawn(mix_locker, &m);
    int sv[2];
    upair(sv);
    braid_task *io = spawn(mix_io_peer, ARG(sv[1]));
    cr_assert_eq(braid_write(sv[0], "ping", 4, braid_now() + 10 * SEC), 4);
    char buf[8];
    cr_assert_eq(braid_read(sv[0], buf, sizeof buf, braid_now() + 10 * SEC), 4);
    cr_assert_eq(memcmp(buf, "ping", 4), 0);
    int64_t r = -1;
    cr_assert_eq(braid_blocking(mix_pool, ARG(21), &r), 0);
    cr_assert_eq(r, 42);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_sleep(3 * MS), 0);
    cr_assert_geq(braid_now() - t0, 3 * MS);
    join(p, 0);
    r = -1;
    cr_assert_eq(braid_await(c, &r), 0);
    cr_assert_eq(r, 500 * 501 / 2);
    braid_task_release(c);
    for (int i = 0; i < 4; i++)
        join(lk[i], 0);
    cr_assert_eq(m.counter, 800, "the mutex let two in: %lld", (long long)m.counter);
    r = -1;
    cr_assert_eq(braid_await(io, &r), 0);
    cr_assert_eq(r, 4);
    braid_task_release(io);
    close(sv[0]);
    close(sv[1]);
    braid_chan_free(m.ch);
    braid_mutex_free(m.x);
    braid_barrier_free(m.b);
    return 0;
}

Test(badinput, one_worker, .timeout = 60)
{
    braid_rt *rt = rt_make(1);
    cr_assert_eq(braid_rt_workers(rt), 1);
    cr_assert_eq(braid_rt_block_on(rt, mixed_workload, NULL, NULL), 0);
    /* Spawns from outside while its one worker is busy. */
    braid_task *t[8];
    for (int i = 0; i < 8; i++)
        cr_assert_eq(braid_rt_spawn(rt, &t[i], slow_square, ARG(i)), 0);
    for (int i = 0; i < 8; i++) {
        int64_t v = -1;
        cr_assert_eq(braid_join(t[i], &v, braid_now() + 10 * SEC), 0);
        cr_assert_eq(v, (int64_t)i * i);
        braid_task_release(t[i]);
    }
    rt_done(rt);
}

static int fd_limit_child(void)
{
    /* Few fds: each worker needs an epoll instance and an eventfd. */
    struct rlimit rl = {64, 64};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 10;
    int before = count_fds();
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 100;
    braid_rt *rt = (braid_rt *)1;
    int err = braid_rt_new(&rt, &o);
    if (err != -EMFILE)
        return 11;
    if (rt != NULL)
        return 12;
    if (count_fds() != before)
        return 13; /* fds leaked by the failed start */
    o.workers = 4; /* a smaller one still works */
    int64_t r = 0;
    if (braid_run(ret_arg, ARG(5), &o, &r) != 0 || r != 5)
        return 14;
    return count_fds() == before ? 0 : 15;
}

Test(badinput, more_workers_than_cores, .timeout = 120)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned many = (unsigned)(4 * (ncpu > 0 ? ncpu : 1) + 1);
    braid_rt *rt = rt_make(many);
    cr_assert_eq(braid_rt_workers(rt), (int)many);
    cr_assert_eq(braid_rt_block_on(rt, mixed_workload, NULL, NULL), 0);
    rt_done(rt);
    /* Pinned: worker i goes to CPU i mod the CPUs it may use. */
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = many;
    o.pin_workers = 1;
    cr_assert_eq(braid_rt_new(&rt, &o), 0);
    cr_assert_eq(braid_rt_block_on(rt, mixed_workload, NULL, NULL), 0);
    rt_done(rt);
    /* The most braid accepts; it needs two fds per worker. */
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t need = 2 * BRAID_MAX_WORKERS + 256;
    if (rl.rlim_cur < need && rl.rlim_max >= need) {
        rl.rlim_cur = need;
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    if (rl.rlim_cur >= need) {
        rt = rt_make(BRAID_MAX_WORKERS);
        cr_assert_eq(braid_rt_workers(rt), BRAID_MAX_WORKERS);
        cr_assert_eq(braid_rt_block_on(rt, mixed_workload, NULL, NULL), 0);
        rt_done(rt);
    } else {
        cr_log_warn("RLIMIT_NOFILE %llu: %d workers not tried", (unsigned long long)rl.rlim_max,
                    BRAID_MAX_WORKERS);
    }
    /* Out of fds while starting: a clean error, nothing left behind. */
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
        _exit(fd_limit_child());
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "the child died of signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    cr_assert_neq(WEXITSTATUS(st), 11, "braid_rt_new out of fds did not return -EMFILE");
    cr_assert_neq(WEXITSTATUS(st), 13, "braid_rt_new out of fds leaked fds");
    cr_assert_eq(WEXITSTATUS(st), 0, "child check %d failed", WEXITSTATUS(st));
}

/* ====================================================================== */
/* fork_while_running                                                      */
/* ====================================================================== */

static atomic_int fork_ticks;
static atomic_int fork_stop;

static int64_t ticker(void *arg)
{
    (void)arg;
    while (!atomic_load(&fork_stop)) {
        atomic_fetch_add(&fork_ticks, 1);
        if (braid_sleep(MS) != 0)
            return -ECANCELED;
    }
    return 0;
}

static int64_t reap(void *arg)
{
    int st = 0;
    pid_t pid = (pid_t)IARG(arg);
    if (waitpid(pid, &st, 0) != pid)
        return -errno;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static int64_t fork_reader(void *arg)
{
    int fd = (int)IARG(arg);
    char buf[16];
    ssize_t r = braid_read(fd, buf, sizeof buf, braid_now() + 10 * SEC);
    return r == 5 && memcmp(buf, "after", 5) == 0 ? 0 : (r < 0 ? r : -EILSEQ);
}

static int64_t main_fork(void *arg)
{
    (void)arg;
    atomic_store(&fork_ticks, 0);
    atomic_store(&fork_stop, 0);
    braid_task *tk = spawn(ticker, NULL);
    int sv[2];
    upair(sv);
    braid_task *rd = spawn(fork_reader, ARG(sv[0]));
    cr_assert_eq(braid_sleep(5 * MS), 0);
    /* A coroutine forks (braid.h: the child may only call async-signal-
     * safe functions or exec). The child closes every fd it inherited,
     * epoll instances included, which must not disturb the parent. */
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        _exit(7);
    }
    int64_t code = -1;
    cr_assert_eq(braid_blocking(reap, ARG(pid), &code), 0);
    cr_assert_eq(code, 7, "the forked child ended with %lld", (long long)code);
    /* The parent runs on: timers, I/O waits registered before the fork. */
    int before = atomic_load(&fork_ticks);
    cr_assert_eq(braid_sleep(10 * MS), 0);
    cr_assert_gt(atomic_load(&fork_ticks), before, "the ticker stopped after the fork");
    cr_assert_eq(braid_write(sv[1], "after", 5, braid_now() + SEC), 5);
    int64_t t0 = braid_now();
    join(rd, 0);
    cr_assert_lt(braid_now() - t0, PROMPT);
    atomic_store(&fork_stop, 1);
    join(tk, 0);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

Test(badinput, fork_while_running, .timeout = 30)
{
    run_main_1_and_2(main_fork, NULL);
    /* From a plain thread while coroutines wait: see test_embed.c
     * fork_child_cannot_use_the_parents_runtime (-ECHILD in the child). */
}

/* ====================================================================== */
/* stack overflow                                                          */
/* ====================================================================== */

static int64_t overflow_inline_child(void *arg)
{
    (void)arg;
    return deep_frames(1000000);
}

static int64_t overflow_via_inline(void *arg)
{
    (void)arg;
    braid_task *t;
    if (braid_spawn(&t, overflow_inline_child, NULL) != 0)
        return -ENOMEM;
    return braid_await(t, NULL); /* not started: runs inline on our stack */
}

/* One frame larger than the whole stack that writes only its lowest bytes
 * (a big local buffer of which a little is used, e.g. by snprintf): with
 * no stack probes (GCC's default without -fstack-clash-protection) the
 * write lands beyond a one-page guard, in the stack of the coroutine whose
 * slice lies below (or in unmapped memory). */
static __attribute__((noinline)) int64_t big_frame(void)
{
    volatile char buf[BRAID_MIN_STACK + 12288];
    for (size_t i = 0; i < 256; i++)
        buf[i] = 'X';
    return buf[255];
}

static int64_t overflow_big_frame(void *arg)
{
    (void)arg;
    return big_frame();
}

/* Holds most of its stack with a known pattern while the overflow runs;
 * returns how many of those bytes changed. */
static __attribute__((noinline)) int64_t victim_frames(void)
{
    volatile char keep[12 * 1024];
    for (size_t i = 0; i < sizeof keep; i++)
        keep[i] = 'V';
    braid_sleep(50 * MS);
    int64_t bad = 0;
    for (size_t i = 0; i < sizeof keep; i++)
        bad += keep[i] != 'V';
    return bad;
}

static int64_t victim(void *arg)
{
    (void)arg;
    return victim_frames();
}

static int64_t victim_and_big_frame(void *arg)
{
    (void)arg;
    braid_task *v, *o;
    if (braid_spawn(&v, victim, NULL) != 0)
        return -ENOMEM;
    braid_sleep(5 * MS); /* the victim holds its stack, asleep */
    if (braid_spawn(&o, overflow_big_frame, NULL) != 0)
        return -ENOMEM;
    braid_sleep(5 * MS); /* it runs on a stack of its own, not inline on ours */
    int64_t r = -1;
    int st = braid_await(o, &r);
    int64_t bad = -1;
    braid_await(v, &bad);
    fprintf(stderr, "the overflowing task ended with status %d; %lld bytes of another task's "
            "stack changed under it\n", st, (long long)bad);
    return 0;
}

#if !defined(TEST_ASAN)
/* The child of expect_overflow_diagnosed: runs *(braid_fn *)arg on a
 * one-worker runtime with the smallest stacks. */
static int overflow_child(void *arg)
{
    braid_fn fn = *(braid_fn *)arg;
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 1;
    o.stack_size = BRAID_MIN_STACK;
    int64_t r = 0;
    int st = braid_run(fn, NULL, &o, &r);
    fprintf(stderr, "no diagnostic: the run returned %d (%s), result %lld\n", st,
            braid_strerror(st), (long long)r);
    return 0;
}
#endif

/* Run fn in a forked child on a one-worker runtime with the smallest
 * stacks; the child must die of SIGABRT after the diagnostic. */
static void expect_overflow_diagnosed(braid_fn fn, const char *what)
{
#if defined(TEST_ASAN)
    (void)fn;
    (void)what;
    cr_skip_test("ASan owns SIGSEGV and reports the overflow itself");
#else
    char buf[2048];
    int status = run_child_stderr(overflow_child, &fn, buf, sizeof buf);
    cr_assert(WIFSIGNALED(status), "%s: the child survived (exit %d): %s", what,
              WIFEXITED(status) ? WEXITSTATUS(status) : -1, buf);
    cr_assert_eq(WTERMSIG(status), SIGABRT,
                 "%s: the child died of signal %d with no diagnostic: %s",
                 what, WTERMSIG(status), buf);
    cr_assert_not_null(strstr(buf, "stack overflow"), "%s: stderr: %s", what, buf);
    cr_assert_not_null(strstr(buf, "stack_size"), "%s: stderr: %s", what, buf);
#endif
}

Test(badinput, stack_overflow_inline_is_diagnosed, .timeout = 30)
{
    /* The plain case is test_misuse.c stack_overflow_is_diagnosed; here the
     * overflowing task runs inline on its awaiter's stack. */
    expect_overflow_diagnosed(overflow_via_inline, "inline");
}

Test(badinput, stack_overflow_large_frame_is_diagnosed, .timeout = 30)
{
    expect_overflow_diagnosed(victim_and_big_frame, "one frame larger than the stack");
}
