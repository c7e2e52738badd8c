/* test_inject.c - spawning from threads braid does not own, block_on from
 * several threads at once, and tasks of one runtime awaiting another's. */
#include <pthread.h>
#include <stdatomic.h>

#include "common.h"

static atomic_long counter;

static int64_t bump(void *arg)
{
    atomic_fetch_add(&counter, IARG(arg));
    return IARG(arg);
}

static int64_t sum_children(void *arg)
{
    int64_t n = IARG(arg), sum = 0;
    braid_task *t[100];
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(braid_spawn(&t[i], bump, ARG(i)), 0);
    for (int64_t i = n - 1; i >= 0; i--) {
        int64_t v = 0;
        cr_assert_eq(braid_await(t[i], &v), 0);
        sum += v;
        braid_task_release(t[i]);
    }
    return sum;
}

typedef struct {
    braid_rt *rt;
    int64_t result;
    int status;
} job;

static void *foreign_block_on(void *arg)
{
    job *j = arg;
    for (int k = 0; k < 20; k++) {
        j->status = braid_rt_block_on(j->rt, sum_children, ARG(100), &j->result);
        if (j->status != 0 || j->result != 4950)
            break;
    }
    return NULL;
}

Test(inject, block_on_from_many_threads, .timeout = 20)
{
    braid_rt *rt = rt_make(2);
    atomic_store(&counter, 0);
    pthread_t th[4];
    job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){.rt = rt};
        cr_assert_eq(pthread_create(&th[i], NULL, foreign_block_on, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(jobs[i].status, 0);
        cr_assert_eq(jobs[i].result, 4950);
    }
    cr_assert_eq(atomic_load(&counter), 4L * 20 * 4950);
    rt_done(rt);
}

static void *foreign_spawner(void *arg)
{
    braid_rt *rt = arg;
    for (int i = 0; i < 1000; i++) {
        if (braid_rt_spawn(rt, NULL, bump, ARG(1)) != 0)
            return (void *)1;
    }
    return NULL;
}

Test(inject, detached_spawns_from_foreign_threads_all_run, .timeout = 20)
{
    braid_rt *rt = rt_make(2);
    atomic_store(&counter, 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, foreign_spawner, rt), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        cr_assert_null(r);
    }
    double end = now_ms() + 10000;
    while (atomic_load(&counter) != 4000 && now_ms() < end)
        ;
    cr_assert_eq(atomic_load(&counter), 4000);
    braid_stats s;
    do
        braid_rt_stats(rt, &s);
    while (s.live != 0 && now_ms() < end);
    rt_done(rt);
}

Test(inject, handle_from_foreign_spawn_is_awaitable, .timeout = 10)
{
    braid_rt *rt = rt_make(2);
    braid_task *t;
    cr_assert_eq(braid_rt_spawn(rt, &t, sum_children, ARG(10)), 0);
    cr_assert_eq(braid_await(t, NULL), -EPERM, "a plain thread cannot await");
    double end = now_ms() + 5000;
    while (!braid_task_done(t) && now_ms() < end)
        ;
    cr_assert_eq(braid_task_done(t), 1);
    braid_task_release(t);
    rt_done(rt);
}

static int64_t await_other_runtime(void *arg)
{
    braid_rt *other = arg;
    braid_task *t;
    cr_assert_eq(braid_rt_spawn(other, &t, sum_children, ARG(50)), 0);
    int64_t v = 0;
    cr_assert_eq(braid_await(t, &v), 0);
    braid_task_release(t);
    cr_assert_eq(braid_current(), braid_current()); /* still on our runtime */
    return v;
}

Test(inject, await_a_task_of_another_runtime, .timeout = 10)
{
    braid_rt *a = rt_make(1), *b = rt_make(1);
    int64_t r = 0;
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(braid_rt_block_on(a, await_other_runtime, b, &r), 0);
        cr_assert_eq(r, 1225);
    }
    rt_done(b);
    rt_done(a);
}
