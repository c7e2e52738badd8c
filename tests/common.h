/* common.h - helpers shared by braid's Criterion suites: make a runtime,
 * and end a test by checking that it frees cleanly with no task alive and,
 * in ASan builds, that nothing leaked. */
#ifndef BRAID_TEST_COMMON_H
#define BRAID_TEST_COMMON_H

#include <braid.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#endif
#if defined(TEST_ASAN)
#include <sanitizer/lsan_interface.h>
#endif

static inline braid_rt *rt_make(unsigned workers)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = workers;
    braid_rt *rt = NULL;
    int err = braid_rt_new(&rt, &o);
    cr_assert_eq(err, 0, "braid_rt_new: %s", braid_strerror(err));
    cr_assert_not_null(rt);
    return rt;
}

/* Ends a test: every task has ended (spawned == completed) and the runtime
 * frees cleanly. */
static inline void rt_done(braid_rt *rt)
{
    braid_stats s;
    cr_assert_eq(braid_rt_stats(rt, &s), 0);
    cr_assert_eq(s.live, 0, "%llu tasks still alive", (unsigned long long)s.live);
    cr_assert_eq(s.spawned, s.completed);
    cr_assert_eq(braid_rt_free(rt), 0);
#if defined(TEST_ASAN)
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked");
#endif
}

/* Frees a runtime whose tasks may still be running (shutdown tests). */
static inline void rt_shutdown(braid_rt *rt)
{
    cr_assert_eq(braid_rt_free(rt), 0);
#if defined(TEST_ASAN)
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked");
#endif
}

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void spin_ms(double ms)
{
    double end = now_ms() + ms;
    while (now_ms() < end)
        ;
}

/* Helpers for a test's main coroutine (test_sync, test_io, test_pool). */

/* Spawn fn(arg); the spawn must succeed. */
static inline braid_task *spawn(braid_fn fn, void *arg)
{
    braid_task *t = NULL;
    int err = braid_spawn(&t, fn, arg);
    cr_assert_eq(err, 0, "braid_spawn: %s", braid_strerror(err));
    return t;
}

/* Await t, expect status `want`, release it. */
static inline void join(braid_task *t, int want)
{
    int st = braid_await(t, NULL);
    cr_assert_eq(st, want, "task status %d (%s), expected %d", st, braid_strerror(st), want);
    braid_task_release(t);
}

/* Yield until *counter reaches n (tasks announce that they are about to
 * block); give up after 5 s. On one worker a task that announced has
 * blocked by the time we run again; on two, callers sleep a little more
 * where it matters. */
static inline void wait_count(atomic_int *counter, int n)
{
    int64_t give_up = braid_now() + 5 * BRAID_SEC;
    while (atomic_load(counter) < n) {
        cr_assert_lt(braid_now(), give_up, "only %d of %d tasks arrived", atomic_load(counter), n);
        cr_assert_eq(braid_yield(), 0);
    }
}

#define ARG(x) ((void *)(intptr_t)(x))
#define IARG(p) ((int64_t)(intptr_t)(p))

#endif
