/* test_shutdown.c - freeing a runtime with tasks in flight cancels them,
 * waits for them, and frees everything. */
#include <stdatomic.h>

#include "common.h"

static atomic_int started, cancelled, spawn_refused;

static int64_t forever(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    for (;;) {
        int err = braid_yield();
        if (err == -ECANCELED) {
            atomic_fetch_add(&cancelled, 1);
            /* Cleanup may not start new work once the runtime closes. */
            if (braid_spawn(NULL, forever, NULL) == -ESHUTDOWN)
                atomic_fetch_add(&spawn_refused, 1);
            return err;
        }
    }
}

static int64_t await_forever(void *arg)
{
    (void)arg;
    braid_task *t;
    cr_assert_eq(braid_spawn(&t, forever, NULL), 0);
    int err = braid_await(t, NULL);
    braid_task_release(t);
    if (err == -ECANCELED)
        atomic_fetch_add(&cancelled, 1);
    return err;
}

Test(shutdown, cancels_and_waits_for_tasks_in_flight, .timeout = 20)
{
    atomic_store(&started, 0);
    atomic_store(&cancelled, 0);
    atomic_store(&spawn_refused, 0);
    braid_rt *rt = rt_make(2);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(braid_rt_spawn(rt, NULL, forever, NULL), 0);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(braid_rt_spawn(rt, NULL, await_forever, NULL), 0);
    double end = now_ms() + 5000;
    while (atomic_load(&started) < 100 && now_ms() < end)
        ;
    cr_assert_eq(atomic_load(&started), 100);
    rt_shutdown(rt);
    /* 100 'forever' tasks and 50 awaiters saw the cancellation (an awaiter
     * may see -ECANCELED from its own cancel or its child's status). */
    cr_assert_eq(atomic_load(&cancelled), 150);
    cr_assert_eq(atomic_load(&spawn_refused), 100);
}

static int64_t never_runs(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

static int64_t hog(void *arg)
{
    (void)arg;
    spin_ms(50);
    return 0;
}

Test(shutdown, queued_tasks_end_without_leaking, .timeout = 20)
{
    static atomic_int ran;
    atomic_store(&ran, 0);
    braid_rt *rt = rt_make(1);
    cr_assert_eq(braid_rt_spawn(rt, NULL, hog, NULL), 0);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(braid_rt_spawn(rt, NULL, never_runs, &ran), 0);
    rt_shutdown(rt);
    /* Each queued task either ran before the cancel sweep or ended
     * cancelled; none is lost or leaked (ASan checks the latter). */
    cr_assert(atomic_load(&ran) <= 1000);
}

Test(shutdown, idle_runtime_frees_at_once, .timeout = 10)
{
    double t0 = now_ms();
    braid_rt *rt = rt_make(4);
    rt_done(rt);
    cr_assert_lt(now_ms() - t0, 1000.0);
}

Test(shutdown, spawn_after_close_is_refused, .timeout = 10)
{
    /* braid_rt_free on one runtime does not affect another. */
    braid_rt *a = rt_make(1), *b = rt_make(1);
    rt_done(a);
    cr_assert_eq(braid_rt_spawn(b, NULL, hog, NULL), 0);
    rt_shutdown(b);
}
