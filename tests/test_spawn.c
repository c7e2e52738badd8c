/* test_spawn.c - spawn, await, yield, cancel and handles on a live runtime. */
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

static int64_t main_result(void *arg)
{
    (void)arg;
    braid_task *t;
    cr_assert_eq(braid_spawn(&t, ret_arg, ARG(42)), 0);
    int64_t v = -1;
    cr_assert_eq(braid_await(t, &v), 0);
    cr_assert_eq(v, 42);
    /* Awaiting again gives the same answer. */
    v = -1;
    cr_assert_eq(braid_await(t, &v), 0);
    cr_assert_eq(v, 42);
    cr_assert_eq(braid_task_done(t), 1);
    braid_task_release(t);
    return 7;
}

Test(spawn, await_gives_result, .timeout = 10)
{
    braid_rt *rt = rt_make(2);
    int64_t r = 0;
    cr_assert_eq(braid_rt_block_on(rt, main_result, NULL, &r), 0);
    cr_assert_eq(r, 7);
    rt_done(rt);
}

static int64_t main_error(void *arg)
{
    (void)arg;
    braid_task *t;
    cr_assert_eq(braid_spawn(&t, fails_eio, NULL), 0);
    int64_t v = 123;
    cr_assert_eq(braid_await(t, &v), -EIO);
    cr_assert_eq(v, 123, "result untouched on error");
    braid_task_release(t);
    return -ENOENT;
}

Test(spawn, error_status_reaches_awaiter, .timeout = 10)
{
    braid_rt *rt = rt_make(2);
    int64_t r = 99;
    cr_assert_eq(braid_rt_block_on(rt, main_error, NULL, &r), -ENOENT);
    cr_assert_eq(r, 99);
    rt_done(rt);
}

#define MANY 10000
static int64_t twice(void *arg) { return 2 * IARG(arg); }

static int64_t main_many(void *arg)
{
    int reverse = (int)IARG(arg);
    static braid_task *ts[MANY];
    for (int i = 0; i < MANY; i++)
        cr_assert_eq(braid_spawn(&ts[i], twice, ARG(i)), 0);
    int64_t sum = 0;
    for (int k = 0; k < MANY; k++) {
        int i = reverse ? MANY - 1 - k : k;
        int64_t v = -1;
        cr_assert_eq(braid_await(ts[i], &v), 0);
        cr_assert_eq(v, 2 * i);
        sum += v;
        braid_task_release(ts[i]);
    }
    return sum;
}

Test(spawn, many_tasks_in_order, .timeout = 20)
{
    braid_rt *rt = rt_make(2);
    int64_t r = 0;
    cr_assert_eq(braid_rt_block_on(rt, main_many, ARG(0), &r), 0);
    cr_assert_eq(r, (int64_t)MANY * (MANY - 1));
    rt_done(rt);
}

Test(spawn, many_tasks_reverse_order, .timeout = 20)
{
    braid_rt *rt = rt_make(2);
    int64_t r = 0;
    cr_assert_eq(braid_rt_block_on(rt, main_many, ARG(1), &r), 0);
    cr_assert_eq(r, (int64_t)MANY * (MANY - 1));
    rt_done(rt);
}

static int64_t fib(void *arg)
{
    int64_t n = IARG(arg);
    if (n < 2)
        return n;
    braid_task *a, *b;
    cr_assert_eq(braid_spawn(&a, fib, ARG(n - 1)), 0);
    cr_assert_eq(braid_spawn(&b, fib, ARG(n - 2)), 0);
    int64_t x = 0, y = 0;
    cr_assert_eq(braid_await(b, &y), 0);
    cr_assert_eq(braid_await(a, &x), 0);
    braid_task_release(a);
    braid_task_release(b);
    return x + y;
}

Test(spawn, fib_on_one_worker_runs_every_task_inline, .timeout = 20)
{
    braid_rt *rt = rt_make(1);
    int64_t r = 0;
    cr_assert_eq(braid_rt_block_on(rt, fib, ARG(18), &r), 0);
    cr_assert_eq(r, 2584);
    braid_stats s;
    braid_rt_stats(rt, &s);
    /* fib(18) spawns 2 * fib(19) - 2 = 8360 tasks; with one worker nothing
     * is stolen, every one is awaited while unstarted, so every one runs
     * inline and only the root ever takes a stack. */
    cr_assert_eq(s.spawned, 8360 + 1);
    cr_assert_eq(s.inlined, 8360);
    cr_assert_eq(s.started, 8361);
    cr_assert_eq(s.stacks_in_use, 0);
    rt_done(rt);
}

Test(spawn, fib_on_two_workers, .timeout = 20)
{
    braid_rt *rt = rt_make(2);
    for (int i = 0; i < 5; i++) {
        int64_t r = 0;
        cr_assert_eq(braid_rt_block_on(rt, fib, ARG(22), &r), 0);
        cr_assert_eq(r, 17711);
    }
    rt_done(rt);
}

/* ---- yield ---- */

static char ylog[64];
static atomic_int ylen;

static int64_t yielder(void *arg)
{
    for (int i = 0; i < 5; i++) {
        ylog[atomic_fetch_add(&ylen, 1)] = (char)('0' + IARG(arg));
        cr_assert_eq(braid_yield(), 0);
    }
    return 0;
}

static int64_t main_yield(void *arg)
{
    (void)arg;
    braid_task *t[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(braid_spawn(&t[i], yielder, ARG(i)), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(braid_await(t[i], NULL), 0);
        braid_task_release(t[i]);
    }
    return 0;
}

Test(yield, round_robin_on_one_worker, .timeout = 10)
{
    braid_rt *rt = rt_make(1);
    atomic_store(&ylen, 0);
    cr_assert_eq(braid_rt_block_on(rt, main_yield, NULL, NULL), 0);
    cr_assert_eq(atomic_load(&ylen), 15);
    ylog[15] = 0;
    /* Each task appears once in the first three, then in the same order. */
    cr_assert(ylog[0] != ylog[1] && ylog[1] != ylog[2] && ylog[0] != ylog[2], "%s", ylog);
    for (int i = 3; i < 15; i++)
        cr_assert_eq(ylog[i], ylog[i - 3], "not round robin: %s", ylog);
    rt_done(rt);
}

static int64_t lone_yield(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(braid_yield(), 0);
    return 5;
}

Test(yield, alone_returns_at_once, .timeout = 10)
{
    braid_rt *rt = rt_make(1);
    int64_t r = 0;
    cr_assert_eq(braid_rt_block_on(rt, lone_yield, NULL, &r), 0);
    cr_assert_eq(r, 5);
    rt_done(rt);
}

/* ---- awaiting a task that suspended ---- */

static int64_t slow7(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++)
        braid_yield();
    return 7;
}

static int64_t await_slow(void *arg)
{
    braid_task *t = arg;
    int64_t v = 0;
    cr_assert_eq(braid_await(t, &v), 0);
    cr_assert_eq(v, 7);
    braid_task_release(t);
    return 1;
}

static int64_t main_awaiters(void *arg)
{
    (void)arg;
    braid_task *slow;
    cr_assert_eq(braid_spawn(&slow, slow7, NULL), 0);
    braid_yield(); /* let a worker start it on its own stack */
    braid_task *w[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(braid_spawn(&w[i], await_slow, braid_task_retain(slow)), 0);
    int64_t n = 0;
    for (int i = 0; i < 4; i++) {
        int64_t v = 0;
        cr_assert_eq(braid_await(w[i], &v), 0);
        n += v;
        braid_task_release(w[i]);
    }
    int64_t v = 0;
    cr_assert_eq(braid_await(slow, &v), 0);
    cr_assert_eq(v, 7);
    braid_task_release(slow);
    return n;
}

Test(await, many_awaiters_of_a_suspended_task, .timeout = 10)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        braid_rt *rt = rt_make(nw);
        int64_t r = 0;
        cr_assert_eq(braid_rt_block_on(rt, main_awaiters, NULL, &r), 0);
        cr_assert_eq(r, 4);
        rt_done(rt);
    }
}

/* ---- cancellation ---- */

static atomic_int body_ran;

static int64_t until_cancelled(void *arg)
{
    (void)arg;
    atomic_fetch_add(&body_ran, 1);
    for (;;) {
        int err = braid_yield();
        if (err == -ECANCELED)
            return -ECANCELED;
        cr_assert_eq(err, 0);
    }
}

static int64_t main_cancel(void *arg)
{
    (void)arg;
    braid_task *t;
    cr_assert_eq(braid_spawn(&t, until_cancelled, NULL), 0);
    while (atomic_load(&body_ran) == 0) /* cancel it while it runs */
        braid_yield();
    cr_assert_eq(braid_cancel(t), 1);
    cr_assert_eq(braid_cancel(t), 1, "idempotent while pending");
    cr_assert_eq(braid_await(t, NULL), -ECANCELED);
    cr_assert_eq(braid_cancel(t), 0, "no effect once done");
    braid_task_release(t);

    /* Cancelled before it started: the body never runs. */
    int before = atomic_load(&body_ran);
    cr_assert_eq(braid_spawn(&t, until_cancelled, NULL), 0);
    cr_assert_eq(braid_cancel(t), 1);
    cr_assert_eq(braid_await(t, NULL), -ECANCELED);
    if (braid_rt_workers(braid_current()) == 1) /* else a thief may start it first */
        cr_assert_eq(atomic_load(&body_ran), before);
    braid_task_release(t);
    return 0;
}

Test(cancel, suspended_and_unstarted_tasks, .timeout = 10)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        atomic_store(&body_ran, 0);
        braid_rt *rt = rt_make(nw);
        cr_assert_eq(braid_rt_block_on(rt, main_cancel, NULL, NULL), 0);
        cr_assert(atomic_load(&body_ran) == 1 || (nw > 1 && atomic_load(&body_ran) == 2));
        rt_done(rt);
    }
}

static atomic_int catcher_started;

static int64_t catches_cancel(void *arg)
{
    (void)arg;
    atomic_store(&catcher_started, 1);
    int err;
    while ((err = braid_yield()) == 0)
        ;
    cr_assert_eq(err, -ECANCELED);
    /* Delivered once: the body can keep waiting while it cleans up. */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(braid_yield(), 0);
    return 11;
}

static int64_t main_catch(void *arg)
{
    (void)arg;
    braid_task *t;
    atomic_store(&catcher_started, 0);
    cr_assert_eq(braid_spawn(&t, catches_cancel, NULL), 0);
    /* Cancel only once it runs: cancelling an unstarted task skips it. */
    while (!atomic_load(&catcher_started))
        braid_yield();
    cr_assert_eq(braid_cancel(t), 1);
    int64_t v = 0;
    cr_assert_eq(braid_await(t, &v), 0, "the body chose to return normally");
    cr_assert_eq(v, 11);
    braid_task_release(t);
    return 0;
}

Test(cancel, delivered_once_and_body_may_recover, .timeout = 10)
{
    run_main(2, main_catch, NULL);
}

static atomic_int awaiter_started;

static int64_t waits_on(void *arg)
{
    atomic_store(&awaiter_started, 1);
    return braid_await((braid_task *)arg, NULL);
}

static int64_t shields(void *arg)
{
    atomic_store(&awaiter_started, 1);
    return braid_shield((braid_task *)arg, NULL);
}

/* Spawn fn(slow) and return once it has started (so a cancel reaches it
 * running, not before it starts). */
static braid_task *spawn_started(braid_fn fn, braid_task *slow)
{
    braid_task *w;
    atomic_store(&awaiter_started, 0);
    cr_assert_eq(braid_spawn(&w, fn, slow), 0);
    while (!atomic_load(&awaiter_started))
        braid_yield();
    braid_yield();
    return w;
}

static int64_t main_cancel_awaiter(void *arg)
{
    (void)arg;
    /* asyncio: cancelling a task that awaits another cancels that one too,
     * and the awaiter reports what it reports. */
    braid_task *slow, *w;
    cr_assert_eq(braid_spawn(&slow, until_cancelled, NULL), 0);
    braid_yield();
    w = spawn_started(waits_on, slow);
    cr_assert_eq(braid_cancel(w), 1);
    cr_assert_eq(braid_await(w, NULL), -ECANCELED);
    cr_assert_eq(braid_task_done(slow), 1, "the awaited task was cancelled with it");
    cr_assert_eq(braid_await(slow, NULL), -ECANCELED);
    braid_task_release(w);
    braid_task_release(slow);

    /* braid_shield: the awaiter gives up, the awaited task runs on. */
    cr_assert_eq(braid_spawn(&slow, until_cancelled, NULL), 0);
    braid_yield();
    w = spawn_started(shields, slow);
    cr_assert_eq(braid_cancel(w), 1);
    cr_assert_eq(braid_await(w, NULL), -ECANCELED);
    cr_assert_eq(braid_task_done(slow), 0, "a shielded task keeps running");
    braid_cancel(slow);
    cr_assert_eq(braid_await(slow, NULL), -ECANCELED);
    braid_task_release(w);
    braid_task_release(slow);
    return 0;
}

Test(cancel, awaiter_cancellation_passes_to_the_awaited_unless_shielded, .timeout = 10)
{
    run_main_1_and_2(main_cancel_awaiter, NULL);
}

/* ---- handles and queries ---- */

static int64_t who_am_i(void *arg)
{
    braid_task **slot = arg;
    *slot = braid_self();
    return 0;
}

static int64_t main_queries(void *arg)
{
    braid_rt *rt = arg;
    cr_assert_eq(braid_current(), rt);
    int id = braid_worker_id();
    cr_assert(id >= 0 && id < braid_rt_workers(rt));
    braid_task *seen = NULL, *t;
    cr_assert_eq(braid_spawn(&t, who_am_i, &seen), 0);
    cr_assert_eq(braid_await(t, NULL), 0);
    cr_assert_eq(seen, t);
    cr_assert_eq(braid_task_retain(t), t);
    braid_task_release(t);
    cr_assert_eq(braid_task_done(t), 1);
    braid_task_release(t);
    cr_assert_eq(braid_spawn(NULL, ret_arg, ARG(1)), 0, "detached spawn");
    return 0;
}

Test(handles, self_current_retain_release, .timeout = 10)
{
    braid_rt *rt = rt_make(2);
    cr_assert_null(braid_self());
    cr_assert_null(braid_current());
    cr_assert_eq(braid_worker_id(), -1);
    cr_assert_eq(braid_rt_workers(rt), 2);
    cr_assert_eq(braid_rt_block_on(rt, main_queries, rt, NULL), 0);
    /* The detached task may still be finishing: wait for it. */
    double end = now_ms() + 5000;
    braid_stats s;
    do
        braid_rt_stats(rt, &s);
    while (s.live != 0 && now_ms() < end);
    rt_done(rt);
}

Test(run, braid_run_returns_status_and_result, .timeout = 10)
{
    int64_t r = 0;
    cr_assert_eq(braid_run(main_result, NULL, NULL, &r), 0);
    cr_assert_eq(r, 7);
    cr_assert_eq(braid_run(main_error, NULL, NULL, &r), -ENOENT);
}

/* ---- embedding: worker hooks, per-worker statistics ---- */

static atomic_int starts, stops, named_right;
static atomic_uint start_mask;

static void on_start(unsigned id, void *arg)
{
    cr_assert_eq(arg, (void *)&starts);
    char name[16] = "", want[16];
    pthread_getname_np(pthread_self(), name, sizeof name);
    snprintf(want, sizeof want, "braid-w%u", id);
    if (strcmp(name, want) == 0)
        atomic_fetch_add(&named_right, 1);
    atomic_fetch_or(&start_mask, 1u << id);
    atomic_fetch_add(&starts, 1);
}

static void on_stop(unsigned id, void *arg)
{
    (void)id;
    (void)arg;
    atomic_fetch_add(&stops, 1);
}

Test(embedding, worker_hooks_run_once_per_worker_and_stats_add_up, .timeout = 10)
{
    atomic_store(&starts, 0);
    atomic_store(&stops, 0);
    atomic_store(&named_right, 0);
    atomic_store(&start_mask, 0);
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 3;
    o.on_worker_start = on_start;
    o.on_worker_stop = on_stop;
    o.hook_arg = &starts;
    braid_rt *rt;
    cr_assert_eq(braid_rt_new(&rt, &o), 0);
    int64_t r = 0;
    cr_assert_eq(braid_rt_block_on(rt, fib, ARG(20), &r), 0);
    cr_assert_eq(r, 6765);
    double end = now_ms() + 5000;
    while (atomic_load(&starts) < 3 && now_ms() < end)
        ;
    cr_assert_eq(atomic_load(&starts), 3);
    cr_assert_eq(atomic_load(&start_mask), 7u, "each worker once");
    cr_assert_eq(atomic_load(&named_right), 3, "workers are named braid-wN");
    braid_stats all, one, sum = {0};
    cr_assert_eq(braid_rt_stats(rt, &all), 0);
    for (unsigned i = 0; i < 3; i++) {
        cr_assert_eq(braid_rt_worker_stats(rt, i, &one), 0);
        sum.completed += one.completed;
        sum.started += one.started;
        sum.stolen += one.stolen;
        sum.stolen_out += one.stolen_out;
        cr_assert_leq(one.max_deque, all.max_deque, "the runtime's max_deque is the largest");
    }
    cr_assert_eq(braid_rt_worker_stats(rt, 3, &one), -EINVAL);
    cr_assert_eq(sum.completed, all.completed);
    cr_assert_eq(sum.started, all.started);
    cr_assert_eq(sum.stolen, all.stolen);
    cr_assert_eq(all.stolen_out, all.stolen, "every entry stolen in was stolen out of someone");
    cr_assert_eq(sum.stolen_out, all.stolen_out);
    cr_assert_eq(all.spawned, all.completed, "tasks spawned = tasks ended");
    cr_assert_geq(all.max_deque, 2, "fib(20) spawns two children per call: the deque got deep");
    cr_assert_gt(all.stack_bytes, 0, "the root task ran on a mapped stack");
    cr_assert_eq(atomic_load(&stops), 0);
    rt_done(rt);
    cr_assert_eq(atomic_load(&stops), 3, "each worker's stop hook ran at shutdown");
}

/* Cancelling a task while it awaits a child that runs inline on its stack
 * and sleeps: the child's sleep must end at once with -ECANCELED (asyncio
 * cancels the awaited task), not when its 10 s timer fires. Nested one
 * level deeper too. */
static atomic_int deep_asleep;

static int64_t long_sleeper(void *arg)
{
    (void)arg;
    atomic_fetch_add(&deep_asleep, 1);
    return braid_sleep(10 * BRAID_SEC);
}

static int64_t awaits_child(void *arg)
{
    int depth = (int)IARG(arg);
    braid_task *t;
    cr_assert_eq(braid_spawn(&t, depth > 1 ? awaits_child : long_sleeper,
                             (void *)(intptr_t)(depth - 1)),
                 0);
    int err = braid_await(t, NULL); /* unstarted, ours alone: runs inline */
    braid_task_release(t);
    return err;
}

static int64_t main_cancel_inline(void *arg)
{
    (void)arg;
    for (int depth = 1; depth <= 2; depth++) {
        atomic_store(&deep_asleep, 0);
        braid_task *outer;
        cr_assert_eq(braid_spawn(&outer, awaits_child, (void *)(intptr_t)depth), 0);
        while (atomic_load(&deep_asleep) == 0)
            braid_sleep(BRAID_MSEC);
        braid_sleep(5 * BRAID_MSEC); /* let the sleeper suspend */
        braid_stats st;
        braid_rt_stats(braid_current(), &st);
        cr_assert_geq(st.inlined, 1, "the child did not run inline: the test proves nothing");
        int64_t t0 = braid_now();
        cr_assert_eq(braid_cancel(outer), 1);
        cr_assert_eq(braid_await(outer, NULL), -ECANCELED);
        int64_t took = braid_now() - t0;
        cr_assert_lt(took, BRAID_SEC, "depth %d: the inner sleeper woke only after %lld ms", depth,
                     (long long)(took / BRAID_MSEC));
        braid_task_release(outer);
    }
    return 0;
}

Test(cancel, wakes_a_child_waiting_inline_on_its_stack, .timeout = 30)
{
    run_main_1_and_2(main_cancel_inline, NULL);
}

/* Stats: a deque filled without running reports its depth; parked workers
 * woken for work count wake-ups. */
static int64_t fill_deque(void *arg)
{
    (void)arg;
    braid_task *t[100];
    for (int i = 0; i < 100; i++) /* nothing runs meanwhile: we hold the worker */
        cr_assert_eq(braid_spawn(&t[i], nop, NULL), 0);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(braid_await(t[i], NULL), 0);
        braid_task_release(t[i]);
    }
    return 0;
}

Test(stats, max_deque_and_wakeups, .timeout = 10)
{
    braid_rt *rt = rt_make(1);
    cr_assert_eq(braid_rt_block_on(rt, fill_deque, NULL, NULL), 0);
    braid_stats s;
    cr_assert_eq(braid_rt_stats(rt, &s), 0);
    cr_assert_geq(s.max_deque, 99, "100 spawns without a run: depth %llu",
                  (unsigned long long)s.max_deque);
    cr_assert_eq(s.spawned, s.completed);
    /* The worker parks between block_on calls; the next one wakes it. */
    uint64_t before = s.wakeups;
    for (int i = 0; i < 3; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* let it park */
        cr_assert_eq(braid_rt_block_on(rt, nop, NULL, NULL), 0);
    }
    cr_assert_eq(braid_rt_stats(rt, &s), 0);
    cr_assert_geq(s.wakeups, before + 3, "wakeups %llu -> %llu", (unsigned long long)before,
                  (unsigned long long)s.wakeups);
    cr_assert_geq(s.parks, 3);
    rt_done(rt);
}

static int64_t yield_n(void *arg)
{
    for (intptr_t i = 0; i < (intptr_t)arg; i++)
        braid_yield();
    return 0;
}

static int64_t two_yielders(void *arg)
{
    braid_task *t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(braid_spawn(&t[i], yield_n, arg), 0);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(braid_await(t[i], NULL), 0);
        braid_task_release(t[i]);
    }
    return 0;
}

Test(stats, switches_count_every_entry_into_a_coroutine, .timeout = 10)
{
    braid_rt *rt = rt_make(1);
    braid_stats a, b;
    cr_assert_eq(braid_rt_stats(rt, &a), 0);
    cr_assert_eq(braid_rt_block_on(rt, two_yielders, (void *)(intptr_t)1000, NULL), 0);
    cr_assert_eq(braid_rt_stats(rt, &b), 0);
    /* Two tasks yielding to each other 1000 times each: at least one entry
     * per yield (a direct hand-off or a trip through the loop), and not
     * wildly more (root, two starts, the awaits' wake-ups). */
    uint64_t d = b.switches - a.switches;
    cr_assert_geq(d, 2000, "switches %llu", (unsigned long long)d);
    cr_assert_leq(d, 2100, "switches %llu", (unsigned long long)d);
    rt_done(rt);
}
