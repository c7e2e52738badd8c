/* test_errors.c - errors as exceptions (braid_fail, messages, the report of
 * failures nobody awaited) and the seedable random generator. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static int64_t fails(void *arg)
{
    return braid_fail(-EIO, "reading %s failed", (const char *)arg);
}

static int64_t main_fail(void *arg)
{
    (void)arg;
    braid_task *t;
    cr_assert_eq(braid_spawn(&t, fails, "config.txt"), 0);
    cr_assert_eq(braid_await(t, NULL), -EIO);
    cr_assert_str_eq(braid_task_message(t), "reading config.txt failed");
    braid_task_release(t);
    cr_assert_eq(braid_fail(5, "not an errno"), -EINVAL, "non-negative becomes -EINVAL");
    return braid_fail(-ENOENT, "main gives up");
}

Test(errors, fail_records_status_and_message, .timeout = 10)
{
    braid_rt *rt = rt_make(2);
    cr_assert_eq(braid_rt_block_on(rt, main_fail, NULL, NULL), -ENOENT);
    cr_assert_null(braid_task_message(NULL));
    cr_assert_eq(braid_fail(-EIO, "outside"), -EIO);
    rt_done(rt);
}

static int64_t fails_quietly(void *arg)
{
    (void)arg;
    return braid_fail(-EPIPE, "nobody listens");
}

static int64_t cancelled_body(void *arg)
{
    (void)arg;
    return -ECANCELED;
}

static int64_t main_unawaited(void *arg)
{
    (void)arg;
    braid_task *t;
    braid_spawn(&t, fails_quietly, NULL);
    braid_yield();
    braid_yield();
    braid_task_release(t); /* never awaited */
    braid_spawn(NULL, fails_quietly, NULL); /* detached */
    braid_spawn(NULL, cancelled_body, NULL); /* cancellations are not reported */
    braid_task *u;
    braid_spawn(&u, fails_quietly, NULL);
    braid_await(u, NULL); /* awaited: not reported */
    braid_task_release(u);
    braid_sleep(10 * BRAID_MSEC);
    return 0;
}

static int unawaited_child(void *arg)
{
    (void)arg;
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 1;
    return braid_run(main_unawaited, NULL, &o, NULL) == 0 ? 0 : 1;
}

Test(errors, failures_nobody_awaited_are_reported, .timeout = 20)
{
    char buf[4096];
    int status = run_child_stderr(unawaited_child, NULL, buf, sizeof buf);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed: %s", buf);
    int reports = 0;
    for (char *p = buf; (p = strstr(p, "nobody awaited it")) != NULL; p++)
        reports++;
    cr_assert_eq(reports, 2, "expected 2 reports (released, detached), got:\n%s", buf);
    cr_assert_not_null(strstr(buf, "nobody listens"), "%s", buf);
    cr_assert_null(strstr(buf, "Operation canceled"), "cancellations are not reported: %s", buf);
}

static int64_t draw(void *arg)
{
    uint64_t *out = arg;
    for (int i = 0; i < 8; i++)
        out[i] = braid_rand_u64();
    for (int i = 0; i < 1000; i++) {
        double u = braid_rand_uniform(2.0, 5.0);
        cr_assert(u >= 2.0 && u < 5.0, "%f", u);
    }
    return 0;
}

static void draw_with_seed(uint64_t seed, uint64_t *out)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 1;
    o.seed = seed;
    cr_assert_eq(braid_run(draw, out, &o, NULL), 0);
}

Test(random, seeded_runs_repeat_and_seeds_differ, .timeout = 10)
{
    uint64_t a[8], b[8], c[8];
    draw_with_seed(7, a);
    draw_with_seed(7, b);
    draw_with_seed(8, c);
    cr_assert_arr_eq(a, b, sizeof a, "same seed, one worker: same numbers");
    cr_assert(memcmp(a, c, sizeof a) != 0, "another seed: other numbers");
    int distinct = 0;
    for (int i = 1; i < 8; i++)
        distinct += a[i] != a[i - 1];
    cr_assert_eq(distinct, 7);
    /* Outside the workers it still works. */
    cr_assert_neq(braid_rand_u64(), braid_rand_u64());
}
