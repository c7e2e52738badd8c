/* test_steal.c - work spreads: tasks spawned on one worker run on another. */
#include "common.h"

static int64_t busy_where(void *arg)
{
    spin_ms((double)IARG(arg));
    return braid_worker_id();
}

static int64_t main_spread(void *arg)
{
    (void)arg;
    enum { N = 64 };
    braid_task *t[N];
    int home = braid_worker_id();
    for (int i = 0; i < N; i++)
        cr_assert_eq(braid_spawn(&t[i], busy_where, ARG(2)), 0);
    int elsewhere = 0;
    for (int i = 0; i < N; i++) {
        int64_t w = -1;
        cr_assert_eq(braid_await(t[i], &w), 0);
        cr_assert(w >= 0 && w < 2);
        elsewhere += w != home;
        braid_task_release(t[i]);
    }
    return elsewhere;
}

Test(steal, tasks_spawned_on_one_worker_run_on_another, .timeout = 20)
{
    braid_rt *rt = rt_make(2);
    int64_t elsewhere = 0;
    double t0 = now_ms();
    cr_assert_eq(braid_rt_block_on(rt, main_spread, NULL, &elsewhere), 0);
    double ms = now_ms() - t0;
    cr_assert_gt(elsewhere, 0, "no task ran on the other worker");
    braid_stats s;
    braid_rt_stats(rt, &s);
    cr_assert_gt(s.stolen, 0);
    cr_assert_gt(s.steal_tries, 0);
    /* 64 x 2 ms of spinning: one worker alone needs 128 ms. This only checks
     * that both took part, loosely (a loaded CI machine may be slow). */
    cr_log_info("64 x 2 ms on 2 workers: %.1f ms, %lld ran elsewhere", ms, (long long)elsewhere);
    rt_done(rt);
}

static int64_t leaf(void *arg) { return IARG(arg); }

static int64_t tree(void *arg)
{
    int64_t d = IARG(arg);
    if (d == 0) {
        spin_ms(0.05);
        return 1;
    }
    braid_task *t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(braid_spawn(&t[i], d == 1 ? leaf : tree, ARG(d == 1 ? 1 : d - 1)), 0);
    int64_t s = 0;
    for (int i = 0; i < 4; i++) {
        int64_t v = 0;
        cr_assert_eq(braid_await(t[i], &v), 0);
        s += v;
        braid_task_release(t[i]);
    }
    return s;
}

Test(steal, tree_of_tasks_exactly_once, .timeout = 30)
{
    braid_rt *rt = rt_make(2);
    for (int k = 0; k < 10; k++) {
        int64_t r = 0;
        cr_assert_eq(braid_rt_block_on(rt, tree, ARG(6), &r), 0);
        cr_assert_eq(r, 4096);
    }
    rt_done(rt);
}
