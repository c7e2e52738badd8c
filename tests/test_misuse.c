/* test_misuse.c - wrong calls get errors, not crashes; a stack overflow
 * gets a diagnostic. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

Test(misuse, calls_outside_a_coroutine)
{
    braid_task *t = (braid_task *)1;
    cr_assert_eq(braid_spawn(&t, nop, NULL), -EPERM);
    cr_assert_null(t, "out is cleared on error");
    cr_assert_eq(braid_yield(), -EPERM);
    cr_assert_eq(braid_await(NULL, NULL), -EINVAL);
    cr_assert_eq(braid_cancel(NULL), -EINVAL);
    cr_assert_eq(braid_task_done(NULL), -EINVAL);
    braid_task_release(NULL);
    cr_assert_eq(braid_rt_workers(NULL), -EINVAL);
    cr_assert_eq(braid_rt_free(NULL), -EINVAL);
    cr_assert_eq(braid_rt_block_on(NULL, nop, NULL, NULL), -EINVAL);
    cr_assert_eq(braid_rt_spawn(NULL, NULL, nop, NULL), -EINVAL);
    cr_assert_eq(braid_run(NULL, NULL, NULL, NULL), -EINVAL);
    cr_assert_eq(braid_rt_stats(NULL, NULL), -EINVAL);
}

Test(misuse, bad_runtime_options)
{
    braid_rt *rt = (braid_rt *)1;
    braid_rt_opts o;
    cr_assert_eq(braid_rt_new(NULL, NULL), -EINVAL);
    braid_rt_opts_init(&o);
    o.workers = BRAID_MAX_WORKERS + 1;
    cr_assert_eq(braid_rt_new(&rt, &o), -EINVAL);
    cr_assert_null(rt);
    braid_rt_opts_init(&o);
    o.stack_size = 1;
    cr_assert_eq(braid_rt_new(&rt, &o), -EINVAL);
    o.stack_size = BRAID_MIN_STACK - 1;
    cr_assert_eq(braid_rt_new(&rt, &o), -EINVAL);
    o.stack_size = BRAID_MAX_STACK + 1;
    cr_assert_eq(braid_rt_new(&rt, &o), -EINVAL);
    o.stack_size = SIZE_MAX;
    cr_assert_eq(braid_rt_new(&rt, &o), -EINVAL);
    cr_assert_eq(braid_run(nop, NULL, &o, NULL), -EINVAL);
}

Test(misuse, zero_workers_means_one_per_cpu)
{
    braid_rt *rt = rt_make(0);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cr_assert_eq(braid_rt_workers(rt), (int)n);
    rt_done(rt);
}

Test(misuse, more_workers_than_cores)
{
    braid_rt *rt = rt_make(16);
    cr_assert_eq(braid_rt_workers(rt), 16);
    int64_t r = 0;
    cr_assert_eq(braid_rt_block_on(rt, nop, NULL, &r), 0);
    rt_done(rt);
}

static int64_t spawn_null(void *arg)
{
    (void)arg;
    braid_task *t;
    cr_assert_eq(braid_spawn(&t, NULL, NULL), -EINVAL);
    cr_assert_eq(braid_await(braid_self(), NULL), -EDEADLK);
    return 0;
}

static int64_t await_parent(void *arg)
{
    /* We run inline on the parent's stack: awaiting it would deadlock. */
    return braid_await((braid_task *)arg, NULL);
}

static int64_t main_misuse(void *arg)
{
    braid_rt *rt = arg;
    cr_assert_eq(braid_rt_block_on(rt, nop, NULL, NULL), -EPERM);
    cr_assert_eq(braid_rt_free(rt), -EPERM);
    braid_task *t;
    cr_assert_eq(braid_spawn(&t, spawn_null, NULL), 0);
    cr_assert_eq(braid_await(t, NULL), 0);
    braid_task_release(t);
    cr_assert_eq(braid_spawn(&t, await_parent, braid_self()), 0);
    cr_assert_eq(braid_await(t, NULL), -EDEADLK);
    braid_task_release(t);
    return 0;
}

Test(misuse, inside_a_coroutine, .timeout = 10)
{
    braid_rt *rt = rt_make(1);
    cr_assert_eq(braid_rt_block_on(rt, main_misuse, rt, NULL), 0);
    rt_done(rt);
}

static int64_t overflow(void *arg)
{
    (void)arg;
    return deep_frames(1000000);
}

static int overflow_child(void *arg)
{
    (void)arg;
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 1;
    braid_run(overflow, NULL, &o, NULL);
    return 0; /* not reached */
}

Test(misuse, stack_overflow_is_diagnosed, .timeout = 20)
{
#if defined(TEST_ASAN)
    cr_skip_test("ASan owns SIGSEGV and reports the overflow itself");
#endif
    char buf[2048];
    int status = run_child_stderr(overflow_child, NULL, buf, sizeof buf);
    cr_assert(WIFSIGNALED(status), "child should die of a signal");
    cr_assert_eq(WTERMSIG(status), SIGABRT, "signal %d", WTERMSIG(status));
    cr_assert_not_null(strstr(buf, "stack overflow"), "stderr: %s", buf);
    cr_assert_not_null(strstr(buf, "stack_size"), "stderr: %s", buf);
}
