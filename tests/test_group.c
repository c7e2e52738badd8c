/* test_group.c - structured groups (asyncio.TaskGroup): leaving the group
 * awaits every member, the first failure cancels the siblings, every
 * status stays readable, members may spawn into the group. */
#include <stdatomic.h>

#include "common.h"

#define MS BRAID_MSEC

static atomic_int cancelled_members;

static int64_t nap_or_fail(void *arg)
{
    int64_t v = IARG(arg);
    int err = braid_sleep((v < 0 ? -v : v) * MS);
    if (err == -ECANCELED) {
        atomic_fetch_add(&cancelled_members, 1);
        return err;
    }
    return v < 0 ? braid_fail(-EIO, "member failed after %lld ms", (long long)-v) : v;
}

static int64_t main_ok(void *arg)
{
    (void)arg;
    braid_group *g;
    cr_assert_eq(braid_group_new(&g), 0);
    for (int i = 1; i <= 5; i++)
        cr_assert_eq(braid_group_spawn(g, NULL, nap_or_fail, ARG(10 * i)), 0);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_group_wait(g), 0);
    cr_assert_geq(braid_now() - t0, 50 * MS, "leaving waits for the slowest");
    cr_assert_eq(braid_group_size(g), 5);
    for (size_t i = 0; i < 5; i++) {
        braid_task *t;
        cr_assert_eq(braid_group_status(g, i, &t), 0);
        int64_t r;
        cr_assert_eq(braid_await(t, &r), 0);
        cr_assert_eq(r, 10 * (int64_t)(i + 1));
    }
    cr_assert_eq(braid_group_status(g, 5, NULL), -ERANGE);
    braid_group_free(g);
    return 0;
}

Test(group, waits_for_every_member, .timeout = 10)
{
    run_main(2, main_ok, NULL);
}

static int64_t main_fail(void *arg)
{
    (void)arg;
    atomic_store(&cancelled_members, 0);
    braid_group *g;
    cr_assert_eq(braid_group_new(&g), 0);
    cr_assert_eq(braid_group_spawn(g, NULL, nap_or_fail, ARG(5000)), 0);
    cr_assert_eq(braid_group_spawn(g, NULL, nap_or_fail, ARG(-20)), 0);
    cr_assert_eq(braid_group_spawn(g, NULL, nap_or_fail, ARG(5000)), 0);
    cr_assert_eq(braid_group_spawn(g, NULL, nap_or_fail, ARG(1)), 0);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_group_wait(g), -EIO);
    cr_assert_lt(braid_now() - t0, 2000 * MS, "the failure must cancel the sleepers");
    cr_assert_eq(atomic_load(&cancelled_members), 2);
    cr_assert_eq(braid_group_status(g, 0, NULL), -ECANCELED);
    braid_task *failed;
    cr_assert_eq(braid_group_status(g, 1, &failed), -EIO);
    cr_assert_str_eq(braid_task_message(failed), "member failed after 20 ms");
    cr_assert_eq(braid_group_status(g, 2, NULL), -ECANCELED);
    cr_assert_eq(braid_group_status(g, 3, NULL), 0);
    braid_group_free(g);
    return 0;
}

Test(group, first_failure_cancels_the_siblings, .timeout = 10)
{
    run_main_1_and_2(main_fail, NULL);
}

static braid_group *shared;

static int64_t spawns_more(void *arg)
{
    int64_t depth = IARG(arg);
    if (depth > 0) {
        cr_assert_eq(braid_group_spawn(shared, NULL, spawns_more, ARG(depth - 1)), 0);
        cr_assert_eq(braid_group_spawn(shared, NULL, spawns_more, ARG(depth - 1)), 0);
    }
    braid_sleep(MS);
    return 1;
}

static int64_t main_grow(void *arg)
{
    (void)arg;
    cr_assert_eq(braid_group_new(&shared), 0);
    cr_assert_eq(braid_group_spawn(shared, NULL, spawns_more, ARG(5)), 0);
    cr_assert_eq(braid_group_wait(shared), 0);
    cr_assert_eq(braid_group_size(shared), 63, "a tree of depth 5: 63 members");
    for (size_t i = 0; i < 63; i++)
        cr_assert_eq(braid_group_status(shared, i, NULL), 0);
    braid_group_free(shared);
    return 0;
}

Test(group, members_spawned_while_waiting_are_awaited, .timeout = 10)
{
    run_main(2, main_grow, NULL);
}

static int64_t group_waiter(void *arg)
{
    braid_group *g = arg;
    return braid_group_wait(g);
}

static int64_t main_cancel(void *arg)
{
    (void)arg;
    atomic_store(&cancelled_members, 0);
    braid_group *g;
    cr_assert_eq(braid_group_new(&g), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(braid_group_spawn(g, NULL, nap_or_fail, ARG(5000)), 0);
    braid_task *w;
    cr_assert_eq(braid_spawn(&w, group_waiter, g), 0);
    braid_sleep(20 * MS);
    cr_assert_eq(braid_cancel(w), 1);
    cr_assert_eq(braid_await(w, NULL), -ECANCELED);
    cr_assert_eq(atomic_load(&cancelled_members), 3, "cancelling the waiter cancels the group");
    braid_task_release(w);
    braid_group_free(g);
    return 0;
}

Test(group, cancelling_the_waiter_cancels_the_members, .timeout = 10)
{
    run_main(2, main_cancel, NULL);
}

Test(group, bad_calls)
{
    cr_assert_eq(braid_group_new(NULL), -EINVAL);
    cr_assert_eq(braid_group_wait(NULL), -EINVAL);
    cr_assert_eq(braid_group_spawn(NULL, NULL, nap_or_fail, NULL), -EINVAL);
    cr_assert_eq(braid_group_size(NULL), 0);
    braid_group *g;
    cr_assert_eq(braid_group_new(&g), 0);
    cr_assert_eq(braid_group_spawn(g, NULL, nap_or_fail, NULL), -EPERM);
    cr_assert_eq(braid_group_wait(g), -EPERM);
    braid_group_free(g);
    braid_group_free(NULL);
}
