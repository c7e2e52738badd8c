/* test_wait.c - await_until, wait_for, shield, the completion-order waitset
 * (as_completed), wait and gather. */
#include <stdatomic.h>

#include "common.h"

#define MS BRAID_MSEC

/* Sleeps arg ms, then returns arg (or -arg-1000 if arg is odd and > 100:
 * a failure after that sleep). */
static int64_t nap(void *arg)
{
    int64_t ms = IARG(arg);
    int err = braid_sleep(ms * MS);
    if (err != 0)
        return err;
    if (ms > 100 && ms % 2 == 1)
        return -EIO;
    return ms;
}

static braid_task *spawn_nap(int64_t ms)
{
    braid_task *t;
    cr_assert_eq(braid_spawn(&t, nap, ARG(ms)), 0);
    return t;
}

static int64_t main_until(void *arg)
{
    (void)arg;
    braid_task *t = spawn_nap(200);
    int64_t r = 0, t0 = braid_now();
    cr_assert_eq(braid_await_until(t, &r, braid_now() + 30 * MS), -ETIMEDOUT);
    cr_assert_geq(braid_now() - t0, 30 * MS);
    cr_assert_eq(braid_task_done(t), 0, "await_until leaves the task running");
    cr_assert_eq(braid_await_until(t, &r, BRAID_FOREVER), 0);
    cr_assert_eq(r, 200);
    braid_task_release(t);

    /* wait_for: on timeout the task is cancelled and awaited. */
    t = spawn_nap(10000);
    t0 = braid_now();
    cr_assert_eq(braid_wait_for(t, 30 * MS, &r), -ETIMEDOUT);
    cr_assert_lt(braid_now() - t0, 500 * MS);
    cr_assert_eq(braid_task_done(t), 1, "wait_for cancels the task on timeout");
    cr_assert_eq(braid_await(t, NULL), -ECANCELED);
    braid_task_release(t);

    t = spawn_nap(10);
    cr_assert_eq(braid_wait_for(t, 1000 * MS, &r), 0);
    cr_assert_eq(r, 10);
    braid_task_release(t);
    cr_assert_eq(braid_wait_for(NULL, MS, NULL), -EINVAL);
    return 0;
}

Test(wait, await_until_and_wait_for, .timeout = 10)
{
    run_main(2, main_until, NULL);
}

static int64_t main_as_completed(void *arg)
{
    (void)arg;
    int64_t ms[5] = {80, 20, 60, 0, 40};
    braid_task *t[5];
    for (int i = 0; i < 5; i++)
        t[i] = spawn_nap(ms[i]);
    braid_waitset *ws;
    cr_assert_eq(braid_waitset_new(&ws, t, 5), 0);
    size_t idx, expect[5] = {3, 1, 4, 2, 0};
    for (int k = 0; k < 5; k++) {
        cr_assert_eq(braid_waitset_next(ws, BRAID_FOREVER, &idx), 0);
        cr_assert_eq(idx, expect[k], "completion %d was task %zu", k, idx);
    }
    cr_assert_eq(braid_waitset_next(ws, BRAID_FOREVER, &idx), -ENOENT);
    braid_waitset_free(ws);
    for (int i = 0; i < 5; i++)
        braid_task_release(t[i]);

    /* A deadline on next. */
    t[0] = spawn_nap(300);
    cr_assert_eq(braid_waitset_new(&ws, t, 1), 0);
    cr_assert_eq(braid_waitset_next(ws, braid_now() + 20 * MS, &idx), -ETIMEDOUT);
    braid_waitset_free(ws); /* frees while the task still runs */
    braid_cancel(t[0]);
    braid_await(t[0], NULL);
    braid_task_release(t[0]);
    return 0;
}

Test(wait, waitset_delivers_in_completion_order, .timeout = 10)
{
    run_main_1_and_2(main_as_completed, NULL);
}

static int64_t main_wait(void *arg)
{
    (void)arg;
    braid_task *t[3] = {spawn_nap(100), spawn_nap(10), spawn_nap(60)};
    size_t nd = 99;
    int64_t t0 = braid_now();
    cr_assert_eq(braid_wait(t, 3, BRAID_WAIT_FIRST_COMPLETED, BRAID_FOREVER, &nd), 0);
    cr_assert_eq(nd, 1);
    cr_assert_eq(braid_task_done(t[1]), 1);
    cr_assert_eq(braid_task_done(t[0]), 0);
    cr_assert_lt(braid_now() - t0, 90 * MS);
    cr_assert_eq(braid_wait(t, 3, BRAID_WAIT_ALL, braid_now() + 5 * MS, &nd), -ETIMEDOUT);
    cr_assert_eq(braid_wait(t, 3, BRAID_WAIT_ALL, BRAID_FOREVER, &nd), 0);
    cr_assert_eq(nd, 3);
    cr_assert_eq(braid_wait(t, 3, 42, BRAID_FOREVER, &nd), -EINVAL);
    for (int i = 0; i < 3; i++)
        braid_task_release(t[i]);
    return 0;
}

Test(wait, wait_first_completed_all_and_deadline, .timeout = 10)
{
    run_main(2, main_wait, NULL);
}

static int64_t main_gather(void *arg)
{
    (void)arg;
    /* All succeed: results in input order, about the longest sleep. */
    braid_task *t[3] = {spawn_nap(60), spawn_nap(20), spawn_nap(40)};
    int64_t res[3] = {0};
    int st[3];
    int64_t t0 = braid_now();
    cr_assert_eq(braid_gather(t, 3, res, st, 0), 0);
    int64_t took = braid_now() - t0;
    cr_assert(took >= 60 * MS && took < 300 * MS, "took %lld ms", (long long)(took / MS));
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(st[i], 0);
        braid_task_release(t[i]);
    }
    cr_assert_eq(res[0], 60);
    cr_assert_eq(res[1], 20);
    cr_assert_eq(res[2], 40);

    /* First error returns at once; the others keep running. */
    braid_task *u[3] = {spawn_nap(400), spawn_nap(101), spawn_nap(20)};
    t0 = braid_now();
    cr_assert_eq(braid_gather(u, 3, res, st, 0), -EIO);
    cr_assert_lt(braid_now() - t0, 350 * MS, "must not wait for the slow one");
    cr_assert_eq(st[1], -EIO);
    cr_assert_eq(st[2], 0);
    cr_assert_eq(st[0], -EINPROGRESS);
    cr_assert_eq(braid_task_done(u[0]), 0);

    /* return_exceptions=True: all statuses, call returns 0. */
    braid_task *v[2] = {spawn_nap(103), spawn_nap(30)};
    cr_assert_eq(braid_gather(v, 2, res, st, BRAID_GATHER_RETURN_ERRORS), 0);
    cr_assert_eq(st[0], -EIO);
    cr_assert_eq(st[1], 0);
    cr_assert_eq(res[1], 30);
    cr_assert_eq(braid_await(u[0], NULL), 0);
    for (int i = 0; i < 3; i++)
        braid_task_release(u[i]);
    for (int i = 0; i < 2; i++)
        braid_task_release(v[i]);
    cr_assert_eq(braid_gather(NULL, 0, NULL, NULL, 0), 0);
    cr_assert_eq(braid_gather(v, 1, NULL, NULL, 77), -EINVAL);
    return 0;
}

Test(gather, results_first_error_and_return_errors, .timeout = 10)
{
    run_main_1_and_2(main_gather, NULL);
}

static braid_task *kids[3];

static int64_t gatherer(void *arg)
{
    (void)arg;
    return braid_gather(kids, 3, NULL, NULL, 0);
}

static int64_t main_gather_cancel(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        kids[i] = spawn_nap(10000);
    braid_task *g;
    cr_assert_eq(braid_spawn(&g, gatherer, NULL), 0);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_cancel(g), 1);
    cr_assert_eq(braid_await(g, NULL), -ECANCELED);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(braid_await(kids[i], NULL), -ECANCELED, "child %d not cancelled", i);
        braid_task_release(kids[i]);
    }
    cr_assert_lt(braid_now() - t0, 500 * MS);
    braid_task_release(g);
    return 0;
}

Test(gather, cancelling_the_gather_cancels_the_children, .timeout = 10)
{
    run_main(2, main_gather_cancel, NULL);
}

Test(wait, calls_outside_a_coroutine)
{
    braid_waitset *ws = NULL;
    cr_assert_eq(braid_waitset_new(&ws, NULL, 0), -EPERM);
    cr_assert_eq(braid_waitset_new(NULL, NULL, 0), -EINVAL);
    cr_assert_eq(braid_gather(NULL, 0, NULL, NULL, 0), -EPERM);
    cr_assert_eq(braid_await_until(NULL, NULL, 0), -EINVAL);
    cr_assert_eq(braid_shield(NULL, NULL), -EINVAL);
    braid_waitset_free(NULL);
}
