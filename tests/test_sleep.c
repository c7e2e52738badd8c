/* test_sleep.c - braid_sleep / braid_sleep_until: on time, never early,
 * FIFO on equal deadlines, cancellable, many at once, and not held hostage
 * by a worker that computes without yielding. */
#include <stdatomic.h>
#include <stdlib.h>

#include "common.h"

#define MS BRAID_MSEC

static int64_t sleep_ms(void *arg)
{
    int64_t t0 = braid_now();
    int err = braid_sleep(IARG(arg) * MS);
    if (err != 0)
        return err;
    return braid_now() - t0;
}

static int64_t main_one(void *arg)
{
    (void)arg;
    int64_t t0 = braid_now();
    cr_assert_eq(braid_sleep(50 * MS), 0);
    int64_t took = braid_now() - t0;
    cr_assert_geq(took, 50 * MS, "woke early: %lld ns", (long long)took);
    cr_assert_lt(took, 250 * MS, "woke late: %lld ns", (long long)took);
    /* Past and zero deadlines behave as a yield. */
    cr_assert_eq(braid_sleep(0), 0);
    cr_assert_eq(braid_sleep(-5), 0);
    cr_assert_eq(braid_sleep_until(0), 0);
    return 0;
}

Test(sleep, on_time_and_never_early, .timeout = 10)
{
    run_main_1_and_2(main_one, NULL);
}

Test(sleep, outside_a_coroutine_is_eperm)
{
    cr_assert_eq(braid_sleep(MS), -EPERM);
    cr_assert_eq(braid_sleep_until(braid_now() + MS), -EPERM);
    cr_assert_eq(braid_sleep(0), -EPERM);
    cr_assert_gt(braid_now(), 0);
}

static int order[16];
static atomic_int norder, narmed;

static int64_t fifo_deadline;

static int64_t sleep_until_and_log(void *arg)
{
    atomic_fetch_add(&narmed, 1); /* one worker: nothing runs until we park */
    cr_assert_eq(braid_sleep_until(fifo_deadline), 0);
    order[atomic_fetch_add(&norder, 1)] = (int)IARG(arg);
    return 0;
}

/* On one worker: spawn fn(ARG(i)) for i < n, each after the one before has
 * armed its timer (counted in narmed; one yield need not be enough: the
 * loop may run the yield queue first). Returns the tasks, for join_all. */
static braid_task **spawn_armed_in_order(int n, braid_fn fn)
{
    braid_task **t = calloc((size_t)n, sizeof *t);
    cr_assert_not_null(t);
    for (int i = 0; i < n; i++) {
        t[i] = spawn(fn, ARG(i));
        wait_count(&narmed, i + 1);
    }
    return t;
}

/* Join (status 0) and free what spawn_armed_in_order returned. */
static void join_all(braid_task **t, int n)
{
    for (int i = 0; i < n; i++)
        join(t[i], 0);
    free(t);
}

/* Run main on a fresh one-worker runtime with the logs reset; all n
 * sleepers must have logged. The caller checks the order, then rt_done. */
static braid_rt *run_logging(braid_fn main, int n)
{
    braid_rt *rt = rt_make(1);
    atomic_store(&norder, 0);
    atomic_store(&narmed, 0);
    cr_assert_eq(braid_rt_block_on(rt, main, NULL, NULL), 0);
    cr_assert_eq(atomic_load(&norder), n);
    return rt;
}

static int64_t main_fifo(void *arg)
{
    (void)arg;
    fifo_deadline = braid_now() + 30 * MS;
    join_all(spawn_armed_in_order(10, sleep_until_and_log), 10);
    return 0;
}

Test(sleep, equal_deadlines_fire_in_arming_order, .timeout = 10)
{
    braid_rt *rt = run_logging(main_fifo, 10);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(order[i], i, "position %d woke task %d", i, order[i]);
    rt_done(rt);
}

/* Many timers due at once (more than one firing batch): they run earliest
 * deadline first, then in arming order, not batch after batch in reverse. */
#define NDUE 600
static int64_t many_deadline[NDUE];
static int many_order[NDUE];

static int64_t sleep_many_and_log(void *arg)
{
    int i = IARG(arg);
    atomic_fetch_add(&narmed, 1);
    cr_assert_eq(braid_sleep_until(many_deadline[i]), 0);
    many_order[atomic_fetch_add(&norder, 1)] = i;
    return 0;
}

static int64_t main_many_due(void *arg)
{
    (void)arg;
    /* Far enough out that all arm first, even under sanitizers; three
     * deadlines a nanosecond apart, so all are due when the worker wakes. */
    int64_t base = braid_now() + 300 * MS;
    for (int i = 0; i < NDUE; i++)
        many_deadline[i] = base + (i * 7) % 3;
    braid_task **t = spawn_armed_in_order(NDUE, sleep_many_and_log);
    cr_assert_lt(braid_now(), base, "arming took longer than the test allows");
    join_all(t, NDUE);
    return 0;
}

Test(sleep, many_due_at_once_run_earliest_deadline_first, .timeout = 20)
{
    braid_rt *rt = run_logging(main_many_due, NDUE);
    for (int k = 1; k < NDUE; k++) {
        int a = many_order[k - 1], b = many_order[k];
        bool in_order = many_deadline[a] < many_deadline[b] ||
                        (many_deadline[a] == many_deadline[b] && a < b);
        cr_assert(in_order, "position %d: task %d (deadline +%lld) ran before task %d (+%lld)",
                  k, a, (long long)(many_deadline[a] - many_deadline[0]), b,
                  (long long)(many_deadline[b] - many_deadline[0]));
    }
    rt_done(rt);
}

static int64_t main_cancel(void *arg)
{
    (void)arg;
    braid_task *t;
    cr_assert_eq(braid_spawn(&t, sleep_ms, ARG(10000)), 0);
    cr_assert_eq(braid_sleep(20 * MS), 0); /* it is asleep by now */
    int64_t t0 = braid_now();
    cr_assert_eq(braid_cancel(t), 1);
    cr_assert_eq(braid_await(t, NULL), -ECANCELED);
    cr_assert_lt(braid_now() - t0, 200 * MS, "cancel must wake the sleeper at once");
    braid_task_release(t);
    /* A cancelled sleeper's timer is gone: sleeping again works. */
    cr_assert_eq(braid_sleep(MS), 0);
    return 0;
}

Test(sleep, cancel_wakes_a_sleeper_at_once, .timeout = 10)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        braid_rt *rt = rt_make(nw);
        cr_assert_eq(braid_rt_block_on(rt, main_cancel, NULL, NULL), 0);
        braid_stats s;
        braid_rt_stats(rt, &s);
        rt_done(rt);
    }
}

/* Many sleepers with random deadlines: all wake, none early. */
#define MANY 100000
static atomic_int early, woke;

static int64_t sleeper(void *arg)
{
    int64_t deadline = IARG(arg);
    cr_assert_eq(braid_sleep_until(deadline), 0);
    if (braid_now() < deadline)
        atomic_fetch_add(&early, 1);
    atomic_fetch_add(&woke, 1);
    return 0;
}

static int64_t main_many(void *arg)
{
    (void)arg;
    static braid_task *t[MANY];
    unsigned seed = 42;
    int64_t start = braid_now();
    for (int i = 0; i < MANY; i++) {
        int64_t d = start + (int64_t)(rand_r(&seed) % 100) * MS;
        cr_assert_eq(braid_spawn(&t[i], sleeper, ARG(d)), 0);
    }
    for (int i = 0; i < MANY; i++) {
        cr_assert_eq(braid_await(t[i], NULL), 0);
        braid_task_release(t[i]);
    }
    return braid_now() - start;
}

Test(sleep, hundred_thousand_sleepers_all_woken_none_early, .timeout = 150)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        atomic_store(&early, 0);
        atomic_store(&woke, 0);
        braid_rt *rt = rt_make(nw);
        int64_t wall = 0;
        cr_assert_eq(braid_rt_block_on(rt, main_many, NULL, &wall), 0);
        cr_assert_eq(atomic_load(&woke), MANY);
        cr_assert_eq(atomic_load(&early), 0);
        /* Concurrency: one after another, 100,000 sleeps of 0-100 ms would
         * take about 5,000 s; together they take well under a second (the
         * bound is loose for sanitizer builds on a loaded machine: ASan
         * took 10.3 s once in a fresh root). */
        cr_assert_lt(wall, 60000 * MS, "wall %lld ms", (long long)(wall / MS));
        rt_done(rt);
    }
}

/* A worker that computes for 300 ms without yielding must not hold the
 * timers armed on it hostage: the other, idle worker fires them. */
enum { HOSTAGES = 8 };
static atomic_int armed;
static int armed_where[HOSTAGES];
static int64_t lateness[HOSTAGES];

static int64_t hostage_sleeper(void *arg)
{
    int i = (int)IARG(arg);
    armed_where[i] = braid_worker_id();
    int64_t deadline = braid_now() + 20 * MS;
    atomic_fetch_add(&armed, 1);
    cr_assert_eq(braid_sleep_until(deadline), 0);
    lateness[i] = braid_now() - deadline;
    return 0;
}

/* One round; returns how many sleepers had armed on the worker that then
 * computed, and fails the test if any of them woke late. */
static int64_t main_hostage(void *arg)
{
    (void)arg;
    atomic_store(&armed, 0);
    braid_task *t[HOSTAGES];
    for (int i = 0; i < HOSTAGES; i++)
        cr_assert_eq(braid_spawn(&t[i], hostage_sleeper, ARG(i)), 0);
    while (atomic_load(&armed) < HOSTAGES) /* they start here or are stolen */
        braid_yield();
    int busy = braid_worker_id();
    spin_ms(300); /* compute without yielding */
    int on_busy = 0;
    for (int i = 0; i < HOSTAGES; i++) {
        cr_assert_eq(braid_await(t[i], NULL), 0);
        braid_task_release(t[i]);
        if (armed_where[i] == busy) {
            on_busy++;
            cr_assert_lt(lateness[i], 150 * MS, "sleeper %d held hostage: %lld ms late", i,
                         (long long)(lateness[i] / MS));
        }
    }
    return on_busy;
}

Test(sleep, idle_worker_fires_a_busy_workers_timers, .timeout = 30)
{
    braid_rt *rt = rt_make(2);
    int64_t on_busy = 0;
    /* Stealing decides where sleepers arm: repeat until some armed on the
     * worker that computes (almost always the first round). */
    for (int round = 0; round < 20 && on_busy == 0; round++)
        cr_assert_eq(braid_rt_block_on(rt, main_hostage, NULL, &on_busy), 0);
    cr_log_info("%lld sleepers armed on the busy worker", (long long)on_busy);
    cr_assert_gt(on_busy, 0, "no sleeper armed on the busy worker in 20 rounds");
    rt_done(rt);
}

static int64_t forever(void *arg)
{
    (void)arg;
    return braid_sleep_until(BRAID_FOREVER);
}

Test(sleep, shutdown_cancels_sleepers, .timeout = 10)
{
    braid_rt *rt = rt_make(2);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(braid_rt_spawn(rt, NULL, forever, NULL), 0);
    double t0 = now_ms();
    rt_shutdown(rt);
    cr_assert_lt(now_ms() - t0, 2000.0);
}

static atomic_int calls;
static int64_t called_at[4];

static void note_call(void *arg)
{
    called_at[IARG(arg)] = braid_now();
    atomic_fetch_add(&calls, 1);
}

Test(callbacks, call_soon_and_call_later, .timeout = 10)
{
    atomic_store(&calls, 0);
    braid_rt *rt = rt_make(2);
    int64_t t0 = braid_now();
    braid_task *later, *never;
    cr_assert_eq(braid_call_soon(rt, NULL, note_call, ARG(0)), 0);
    cr_assert_eq(braid_call_later(rt, &later, 40 * MS, note_call, ARG(1)), 0);
    cr_assert_eq(braid_call_later(rt, &never, 5000 * MS, note_call, ARG(2)), 0);
    cr_assert_eq(braid_cancel(never), 1);
    double end = now_ms() + 5000;
    while (atomic_load(&calls) < 2 && now_ms() < end)
        spin_ms(1);
    spin_ms(20);
    cr_assert_eq(atomic_load(&calls), 2, "call_soon and call_later ran, the cancelled one not");
    cr_assert_geq(called_at[1] - t0, 40 * MS, "call_later never early");
    cr_assert_lt(called_at[0] - t0, 40 * MS);
    cr_assert_eq(braid_task_done(later), 1);
    braid_task_release(later);
    braid_task_release(never);
    cr_assert_eq(braid_call_soon(NULL, NULL, note_call, NULL), -EINVAL);
    cr_assert_eq(braid_call_soon(rt, NULL, NULL, NULL), -EINVAL);
    braid_stats s;
    end = now_ms() + 5000;
    do
        braid_rt_stats(rt, &s);
    while (s.live != 0 && now_ms() < end);
    rt_done(rt);
}
