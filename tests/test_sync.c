/* test_sync.c - the synchronisation objects of braid.h (asyncio's Event,
 * Lock, Semaphore, Condition, Barrier, Queue and Future):
 *   event      waiters block until set and all wake; set stays set; clear;
 *              deadline (never early); cancel; set from a plain thread
 *   mutex      mutual exclusion under contention on 2 workers; FIFO
 *              handoff; -EDEADLK, -EPERM, -EBUSY; deadline and cancel leave
 *              the queue clean
 *   semaphore  at most N inside; FIFO permits; bounded release -EOVERFLOW;
 *              deadline; bad arguments
 *   condition  producer/consumer with predicate loops; notify counts;
 *              the mutex is released while waiting and owned again on
 *              return (timeout and cancel included)
 *   barrier    distinct arrival indices, nobody passes early, reusable;
 *              a cancelled party leaves the round
 *   channel    FIFO; capacity; 100,000 values through many producers and
 *              consumers exactly once; close semantics; deadlines; cancel;
 *              ping-pong; coroutines of two runtimes on one channel
 *   future     resolve / fail / -EALREADY; many awaiters; plain threads on
 *              either side; deadline; cancel; callbacks
 * and, for every type, -EINVAL on bad arguments and -EPERM for a waiting
 * call outside a coroutine. Tests where scheduling matters run on 1 and 2
 * workers. Timing checks are one-sided (never early) or generous; no check
 * relies on how the scheduler interleaves tasks unless it runs on 1 worker.
 * The suite "cancel_race" (at the end) checks that a cancellation that
 * races a grant is not lost (the next waiting call reports it). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MS BRAID_MSEC

/* ---- helpers (run_main_1_and_2, plain_sleep_ms, ... in common.h) ------- */

/* A main task that awaits the task given as arg: its status. */
static int64_t await_task(void *arg)
{
    return braid_await(arg, NULL);
}

/* ====================================================================== */
/* event                                                                   */
/* ====================================================================== */

enum { EV_WAITERS = 8 };
static atomic_int ev_started, ev_woken;

static int64_t ev_waiter(void *arg)
{
    braid_event *e = arg;
    atomic_fetch_add(&ev_started, 1);
    int err = braid_event_wait(e);
    atomic_fetch_add(&ev_woken, 1);
    return err;
}

static int64_t main_event_all_wake(void *arg)
{
    (void)arg;
    atomic_store(&ev_started, 0);
    atomic_store(&ev_woken, 0);
    braid_event *e;
    cr_assert_eq(braid_event_new(&e), 0);
    braid_task *t[EV_WAITERS];
    for (int i = 0; i < EV_WAITERS; i++)
        t[i] = spawn(ev_waiter, e);
    wait_count(&ev_started, EV_WAITERS);
    cr_assert_eq(braid_sleep(30 * MS), 0);
    cr_assert_eq(atomic_load(&ev_woken), 0, "a waiter passed an event that is not set");
    cr_assert_eq(braid_event_is_set(e), 0);
    cr_assert_eq(braid_event_set(e), 0);
    cr_assert_eq(braid_event_is_set(e), 1);
    for (int i = 0; i < EV_WAITERS; i++)
        join(t[i], 0);
    cr_assert_eq(atomic_load(&ev_woken), EV_WAITERS);
    braid_event_free(e);
    return 0;
}

Test(event, waiters_block_until_set_then_all_wake, .timeout = 10)
{
    run_main_1_and_2(main_event_all_wake, NULL);
}

static int64_t main_event_set_clear(void *arg)
{
    (void)arg;
    braid_event *e;
    cr_assert_eq(braid_event_new(&e), 0);
    /* Not set: a deadline already past times out at once. */
    cr_assert_eq(braid_event_wait_until(e, 0), -ETIMEDOUT);
    cr_assert_eq(braid_event_set(e), 0);
    cr_assert_eq(braid_event_set(e), 0, "set is idempotent");
    /* Set: every wait returns at once, even with a past deadline. */
    int64_t t0 = braid_now();
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(braid_event_wait(e), 0);
        cr_assert_eq(braid_event_wait_until(e, 0), 0, "a set event beats a past deadline");
    }
    cr_assert_lt(braid_now() - t0, 500 * MS);
    cr_assert_eq(braid_event_is_set(e), 1, "waiting does not consume the event");
    /* Clear: waiting blocks again. */
    cr_assert_eq(braid_event_clear(e), 0);
    cr_assert_eq(braid_event_is_set(e), 0);
    cr_assert_eq(braid_event_wait_until(e, braid_now() + 10 * MS), -ETIMEDOUT);
    /* A waiter blocked after clear is woken by the next set. */
    atomic_store(&ev_started, 0);
    atomic_store(&ev_woken, 0);
    braid_task *w = spawn(ev_waiter, e);
    wait_count(&ev_started, 1);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(atomic_load(&ev_woken), 0);
    cr_assert_eq(braid_event_set(e), 0);
    join(w, 0);
    braid_event_free(e);
    return 0;
}

Test(event, wait_after_set_returns_at_once_and_clear_rearms, .timeout = 10)
{
    run_main_1_and_2(main_event_set_clear, NULL);
}

static int64_t main_event_deadline(void *arg)
{
    (void)arg;
    braid_event *e;
    cr_assert_eq(braid_event_new(&e), 0);
    for (int i = 0; i < 3; i++) {
        int64_t deadline = braid_now() + 30 * MS;
        cr_assert_eq(braid_event_wait_until(e, deadline), -ETIMEDOUT);
        int64_t now = braid_now();
        cr_assert_geq(now, deadline, "timed out %lld ns early", (long long)(deadline - now));
        cr_assert_lt(now - deadline, 1000 * MS, "timed out %lld ms late",
                     (long long)((now - deadline) / MS));
    }
    /* The timed-out waits left nothing behind: set and wait still work. */
    cr_assert_eq(braid_event_set(e), 0);
    cr_assert_eq(braid_event_wait_until(e, braid_now() + 30 * MS), 0);
    braid_event_free(e);
    return 0;
}

Test(event, wait_until_times_out_no_earlier_than_the_deadline, .timeout = 10)
{
    run_main_1_and_2(main_event_deadline, NULL);
}

static int ev_cancel_ret;

static int64_t ev_cancel_waiter(void *arg)
{
    atomic_fetch_add(&ev_started, 1);
    ev_cancel_ret = braid_event_wait(arg);
    return 0;
}

static int64_t main_event_cancel(void *arg)
{
    (void)arg;
    atomic_store(&ev_started, 0);
    atomic_store(&ev_woken, 0);
    ev_cancel_ret = 1;
    braid_event *e;
    cr_assert_eq(braid_event_new(&e), 0);
    braid_task *t = spawn(ev_cancel_waiter, e);
    wait_count(&ev_started, 1);
    cr_assert_eq(braid_sleep(20 * MS), 0); /* it is blocked by now */
    int64_t t0 = braid_now();
    cr_assert_eq(braid_cancel(t), 1);
    join(t, 0);
    cr_assert_eq(ev_cancel_ret, -ECANCELED);
    cr_assert_lt(braid_now() - t0, 500 * MS, "cancel must wake the waiter at once");
    /* Its node left the queue: a later waiter and set work normally. */
    braid_task *u = spawn(ev_waiter, e);
    wait_count(&ev_started, 2);
    cr_assert_eq(braid_sleep(5 * MS), 0);
    cr_assert_eq(braid_event_set(e), 0);
    join(u, 0);
    cr_assert_eq(atomic_load(&ev_woken), 1);
    braid_event_free(e);
    return 0;
}

Test(event, cancelling_a_waiter_gives_ecanceled, .timeout = 10)
{
    run_main_1_and_2(main_event_cancel, NULL);
}

static atomic_int ev_thread_set_done;

static void *ev_setter_thread(void *arg)
{
    plain_sleep_ms(30);
    atomic_store(&ev_thread_set_done, 1);
    braid_event_set(arg);
    return NULL;
}

static int64_t main_event_from_thread(void *arg)
{
    (void)arg;
    atomic_store(&ev_started, 0);
    atomic_store(&ev_woken, 0);
    atomic_store(&ev_thread_set_done, 0);
    braid_event *e;
    cr_assert_eq(braid_event_new(&e), 0);
    braid_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = spawn(ev_waiter, e);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, ev_setter_thread, e), 0);
    cr_assert_eq(braid_event_wait(e), 0);
    cr_assert_eq(atomic_load(&ev_thread_set_done), 1, "woke before the thread set it");
    for (int i = 0; i < 4; i++)
        join(t[i], 0);
    cr_assert_eq(atomic_load(&ev_woken), 4);
    pthread_join(th, NULL);
    braid_event_free(e);
    return 0;
}

Test(event, set_from_a_plain_thread_wakes_coroutines, .timeout = 10)
{
    run_main_1_and_2(main_event_from_thread, NULL);
}

Test(event, outside_a_coroutine_and_bad_arguments, .timeout = 10)
{
    braid_event *e;
    cr_assert_eq(braid_event_new(NULL), -EINVAL);
    cr_assert_eq(braid_event_new(&e), 0);
    cr_assert_eq(braid_event_wait(e), -EPERM);
    cr_assert_eq(braid_event_wait_until(e, braid_now() + MS), -EPERM);
    /* Non-waiting calls work from any thread. */
    cr_assert_eq(braid_event_set(e), 0);
    cr_assert_eq(braid_event_is_set(e), 1);
    cr_assert_eq(braid_event_wait(e), -EPERM, "-EPERM even when set");
    cr_assert_eq(braid_event_clear(e), 0);
    cr_assert_eq(braid_event_is_set(e), 0);
    cr_assert_eq(braid_event_set(NULL), -EINVAL);
    cr_assert_eq(braid_event_clear(NULL), -EINVAL);
    cr_assert_eq(braid_event_is_set(NULL), -EINVAL);
    cr_assert_eq(braid_event_wait(NULL), -EINVAL);
    braid_event_free(e);
    braid_event_free(NULL);
}

/* ====================================================================== */
/* mutex                                                                   */
/* ====================================================================== */

enum { MX_TASKS = 32, MX_ITERS = 300 };
static braid_mutex *mx;
static long mx_counter; /* deliberately not atomic: the mutex protects it */
static atomic_int mx_inside, mx_overlaps;

static int64_t mx_incrementer(void *arg)
{
    (void)arg;
    for (int i = 0; i < MX_ITERS; i++) {
        cr_assert_eq(braid_mutex_lock(mx), 0);
        if (atomic_exchange(&mx_inside, 1) != 0)
            atomic_fetch_add(&mx_overlaps, 1);
        long v = mx_counter;
        cr_assert_eq(braid_yield(), 0); /* others run (and contend) meanwhile */
        if (i % 8 == 0)
            spin_ms(0.01); /* widen the window on the other worker */
        mx_counter = v + 1;
        atomic_store(&mx_inside, 0);
        cr_assert_eq(braid_mutex_unlock(mx), 0);
        if (i % 3 == 0)
            cr_assert_eq(braid_yield(), 0);
    }
    return 0;
}

static int64_t main_mutex_contention(void *arg)
{
    (void)arg;
    mx_counter = 0;
    atomic_store(&mx_inside, 0);
    atomic_store(&mx_overlaps, 0);
    cr_assert_eq(braid_mutex_new(&mx), 0);
    braid_task *t[MX_TASKS];
    for (int i = 0; i < MX_TASKS; i++)
        t[i] = spawn(mx_incrementer, NULL);
    for (int i = 0; i < MX_TASKS; i++)
        join(t[i], 0);
    cr_assert_eq(atomic_load(&mx_overlaps), 0, "two tasks inside the critical section");
    cr_assert_eq(mx_counter, (long)MX_TASKS * MX_ITERS, "lost updates: %ld",
                 (long)MX_TASKS * MX_ITERS - mx_counter);
    /* Free at the end: trylock succeeds. */
    cr_assert_eq(braid_mutex_trylock(mx), 0);
    cr_assert_eq(braid_mutex_unlock(mx), 0);
    braid_mutex_free(mx);
    return 0;
}

Test(mutex, mutual_exclusion_under_contention, .timeout = 60)
{
    run_main_1_and_2(main_mutex_contention, NULL);
}

enum { FIFO_N = 8 };
static int fifo_order[FIFO_N];
static atomic_int fifo_queued, fifo_n;

static int64_t mx_fifo_locker(void *arg)
{
    int id = (int)IARG(arg);
    atomic_fetch_add(&fifo_queued, 1);
    cr_assert_eq(braid_mutex_lock(mx), 0);
    fifo_order[atomic_fetch_add(&fifo_n, 1)] = id;
    cr_assert_eq(braid_yield(), 0); /* hold it across a switch */
    cr_assert_eq(braid_mutex_unlock(mx), 0);
    return 0;
}

static int64_t main_mutex_fifo(void *arg)
{
    (void)arg;
    atomic_store(&fifo_queued, 0);
    atomic_store(&fifo_n, 0);
    cr_assert_eq(braid_mutex_new(&mx), 0);
    cr_assert_eq(braid_mutex_lock(mx), 0);
    braid_task *t[FIFO_N];
    for (int i = 0; i < FIFO_N; i++) {
        t[i] = spawn(mx_fifo_locker, ARG(i));
        /* One worker: once it announced, it is queued on the mutex. */
        wait_count(&fifo_queued, i + 1);
    }
    cr_assert_eq(atomic_load(&fifo_n), 0);
    cr_assert_eq(braid_mutex_unlock(mx), 0);
    /* No barging: the unlocker cannot take it back while others wait. */
    cr_assert_eq(braid_mutex_trylock(mx), -EBUSY);
    for (int i = 0; i < FIFO_N; i++)
        join(t[i], 0);
    cr_assert_eq(atomic_load(&fifo_n), FIFO_N);
    for (int i = 0; i < FIFO_N; i++)
        cr_assert_eq(fifo_order[i], i, "position %d got task %d", i, fifo_order[i]);
    braid_mutex_free(mx);
    return 0;
}

Test(mutex, unlock_hands_over_in_fifo_order, .timeout = 10)
{
    run_main(1, main_mutex_fifo, NULL);
}

static int64_t main_mutex_edeadlk(void *arg)
{
    (void)arg;
    braid_mutex *x;
    cr_assert_eq(braid_mutex_new(&x), 0);
    cr_assert_eq(braid_mutex_lock(x), 0);
    cr_assert_eq(braid_mutex_lock(x), -EDEADLK);
    cr_assert_eq(braid_mutex_lock_until(x, braid_now() + 10 * MS), -EDEADLK);
    cr_assert_eq(braid_mutex_trylock(x), -EBUSY);
    cr_assert_eq(braid_mutex_unlock(x), 0, "still owned after the failed relocks");
    cr_assert_eq(braid_mutex_unlock(x), -EPERM, "unlocking a free mutex");
    cr_assert_eq(braid_mutex_lock(x), 0);
    cr_assert_eq(braid_mutex_unlock(x), 0);
    braid_mutex_free(x);
    return 0;
}

Test(mutex, relock_by_the_owner_is_edeadlk, .timeout = 10)
{
    run_main(1, main_mutex_edeadlk, NULL);
}

static atomic_int try_stage;
static braid_event *mx_release;

/* Locks, then holds the mutex until mx_release is set. */
static int64_t mx_hold_until_released(void *arg)
{
    braid_mutex *x = arg;
    cr_assert_eq(braid_mutex_lock(x), 0);
    atomic_store(&try_stage, 1);
    cr_assert_eq(braid_event_wait(mx_release), 0);
    return braid_mutex_unlock(x);
}

static int64_t mx_foreign_unlock(void *arg)
{
    braid_mutex *x = arg;
    cr_assert_eq(braid_mutex_unlock(x), -EPERM);
    cr_assert_eq(braid_mutex_trylock(x), -EBUSY, "a failed unlock must not free it");
    cr_assert_eq(braid_mutex_unlock(x), -EPERM);
    return 0;
}

Test(mutex, unlock_by_a_non_owner_is_eperm, .timeout = 10)
{
    atomic_store(&try_stage, 0);
    braid_mutex *x;
    cr_assert_eq(braid_mutex_new(&x), 0);
    cr_assert_eq(braid_event_new(&mx_release), 0);
    braid_rt *rt = rt_make(2);
    braid_task *holder;
    cr_assert_eq(braid_rt_spawn(rt, &holder, mx_hold_until_released, x), 0);
    while (atomic_load(&try_stage) == 0)
        plain_sleep_ms(1);
    /* Held by a live task: neither a plain thread nor another task may
     * unlock it. */
    cr_assert_eq(braid_mutex_unlock(x), -EPERM);
    cr_assert_eq(braid_rt_block_on(rt, mx_foreign_unlock, x, NULL), 0);
    cr_assert_eq(braid_event_set(mx_release), 0);
    /* The owner still can (the holder returns its unlock's status). */
    cr_assert_eq(braid_rt_block_on(rt, await_task, holder, NULL), 0);
    braid_task_release(holder);
    rt_done(rt);
    braid_event_free(mx_release);
    braid_mutex_free(x);
}

static int64_t mx_holder(void *arg)
{
    braid_mutex *x = arg;
    cr_assert_eq(braid_mutex_trylock(x), 0);
    atomic_store(&try_stage, 1);
    while (atomic_load(&try_stage) == 1)
        cr_assert_eq(braid_sleep(MS), 0);
    cr_assert_eq(braid_mutex_unlock(x), 0);
    return 0;
}

static int64_t main_mutex_trylock(void *arg)
{
    (void)arg;
    atomic_store(&try_stage, 0);
    braid_mutex *x;
    cr_assert_eq(braid_mutex_new(&x), 0);
    braid_task *h = spawn(mx_holder, x);
    wait_count(&try_stage, 1);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_mutex_trylock(x), -EBUSY);
    cr_assert_lt(braid_now() - t0, 500 * MS, "trylock must not block");
    atomic_store(&try_stage, 2);
    join(h, 0);
    cr_assert_eq(braid_mutex_trylock(x), 0);
    cr_assert_eq(braid_mutex_unlock(x), 0);
    braid_mutex_free(x);
    return 0;
}

Test(mutex, trylock_is_ebusy_while_held_and_succeeds_once_free, .timeout = 10)
{
    run_main_1_and_2(main_mutex_trylock, NULL);
}

static int64_t mx_timed_locker(void *arg)
{
    braid_mutex *x = arg;
    int64_t deadline = braid_now() + 30 * MS;
    int err = braid_mutex_lock_until(x, deadline);
    cr_assert_eq(err, -ETIMEDOUT, "lock_until: %s", braid_strerror(err));
    cr_assert_geq(braid_now(), deadline, "timed out early");
    cr_assert_lt(braid_now() - deadline, 1000 * MS);
    return 0;
}

static int64_t main_mutex_timeout(void *arg)
{
    (void)arg;
    braid_mutex *x;
    cr_assert_eq(braid_mutex_new(&x), 0);
    cr_assert_eq(braid_mutex_lock(x), 0);
    join(spawn(mx_timed_locker, x), 0);
    join(spawn(mx_timed_locker, x), 0);
    /* The timed-out waiters left the queue: unlock frees the mutex instead
     * of handing it to a task that is gone. */
    cr_assert_eq(braid_mutex_unlock(x), 0);
    cr_assert_eq(braid_mutex_trylock(x), 0);
    cr_assert_eq(braid_mutex_unlock(x), 0);
    /* A free mutex: lock_until with a past deadline still succeeds. */
    cr_assert_eq(braid_mutex_lock_until(x, 0), 0);
    cr_assert_eq(braid_mutex_unlock(x), 0);
    braid_mutex_free(x);
    return 0;
}

Test(mutex, lock_until_times_out_and_leaves_the_queue, .timeout = 10)
{
    run_main_1_and_2(main_mutex_timeout, NULL);
}

static atomic_int mx_got;

static int64_t mx_blocking_locker(void *arg)
{
    braid_mutex *x = arg;
    atomic_fetch_add(&fifo_queued, 1);
    int err = braid_mutex_lock(x);
    if (err != 0)
        return err;
    atomic_fetch_add(&mx_got, 1);
    cr_assert_eq(braid_mutex_unlock(x), 0);
    return 0;
}

static int64_t main_mutex_cancel(void *arg)
{
    (void)arg;
    atomic_store(&fifo_queued, 0);
    atomic_store(&mx_got, 0);
    braid_mutex *x;
    cr_assert_eq(braid_mutex_new(&x), 0);
    cr_assert_eq(braid_mutex_lock(x), 0);
    braid_task *a = spawn(mx_blocking_locker, x);
    braid_task *b = spawn(mx_blocking_locker, x);
    braid_task *c = spawn(mx_blocking_locker, x);
    wait_count(&fifo_queued, 3);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(braid_cancel(a), 1);
    cr_assert_eq(braid_cancel(c), 1);
    cr_assert_eq(braid_await(a, NULL), -ECANCELED);
    cr_assert_eq(braid_await(c, NULL), -ECANCELED);
    cr_assert_eq(atomic_load(&mx_got), 0);
    /* Only b is left in the queue: it gets the lock, then it is free. */
    cr_assert_eq(braid_mutex_unlock(x), 0);
    join(b, 0);
    cr_assert_eq(atomic_load(&mx_got), 1);
    cr_assert_eq(braid_mutex_trylock(x), 0, "the mutex is free after the survivor");
    cr_assert_eq(braid_mutex_unlock(x), 0);
    braid_task_release(a);
    braid_task_release(c);
    braid_mutex_free(x);
    return 0;
}

Test(mutex, cancelled_waiter_leaves_the_queue, .timeout = 10)
{
    run_main_1_and_2(main_mutex_cancel, NULL);
}

Test(mutex, outside_a_coroutine_and_bad_arguments, .timeout = 10)
{
    braid_mutex *x;
    cr_assert_eq(braid_mutex_new(NULL), -EINVAL);
    cr_assert_eq(braid_mutex_new(&x), 0);
    cr_assert_eq(braid_mutex_lock(x), -EPERM);
    cr_assert_eq(braid_mutex_lock_until(x, braid_now() + MS), -EPERM);
    cr_assert_eq(braid_mutex_trylock(x), -EPERM);
    cr_assert_eq(braid_mutex_unlock(x), -EPERM);
    cr_assert_eq(braid_mutex_lock(NULL), -EINVAL);
    cr_assert_eq(braid_mutex_trylock(NULL), -EINVAL);
    cr_assert_eq(braid_mutex_unlock(NULL), -EINVAL);
    braid_mutex_free(x);
    braid_mutex_free(NULL);
}

/* ====================================================================== */
/* semaphore                                                               */
/* ====================================================================== */

enum { SEM_PERMITS = 3, SEM_TASKS = 32, SEM_ITERS = 50 };
static braid_sem *sm;
static atomic_int sem_inside, sem_max;

static int64_t sem_user(void *arg)
{
    (void)arg;
    for (int i = 0; i < SEM_ITERS; i++) {
        cr_assert_eq(braid_sem_acquire(sm), 0);
        int n = atomic_fetch_add(&sem_inside, 1) + 1;
        int m = atomic_load(&sem_max);
        while (n > m && !atomic_compare_exchange_weak(&sem_max, &m, n))
            ;
        cr_assert_eq(braid_yield(), 0);
        atomic_fetch_sub(&sem_inside, 1);
        cr_assert_eq(braid_sem_release(sm), 0);
    }
    return 0;
}

static int64_t main_sem_limit(void *arg)
{
    (void)arg;
    atomic_store(&sem_inside, 0);
    atomic_store(&sem_max, 0);
    cr_assert_eq(braid_sem_new(&sm, SEM_PERMITS, SEM_PERMITS), 0);
    cr_assert_eq(braid_sem_value(sm), SEM_PERMITS);
    braid_task *t[SEM_TASKS];
    for (int i = 0; i < SEM_TASKS; i++)
        t[i] = spawn(sem_user, NULL);
    for (int i = 0; i < SEM_TASKS; i++)
        join(t[i], 0);
    cr_assert_leq(atomic_load(&sem_max), SEM_PERMITS, "%d tasks inside at once",
                  atomic_load(&sem_max));
    cr_assert_geq(atomic_load(&sem_max), 1);
    cr_log_info("at most %d inside", atomic_load(&sem_max));
    cr_assert_eq(braid_sem_value(sm), SEM_PERMITS, "every permit came back");
    braid_sem_free(sm);
    return 0;
}

Test(sem, at_most_n_tasks_inside_under_contention, .timeout = 30)
{
    run_main_1_and_2(main_sem_limit, NULL);
}

/* Holders that keep their permit until an event: exactly N get in. */
enum { SEM_HOLDERS = 5 };
static braid_event *sem_go;

static int64_t sem_holder(void *arg)
{
    (void)arg;
    int err = braid_sem_acquire(sm);
    if (err != 0)
        return err;
    atomic_fetch_add(&sem_inside, 1);
    cr_assert_eq(braid_event_wait(sem_go), 0);
    atomic_fetch_sub(&sem_inside, 1);
    return braid_sem_release(sm);
}

static int64_t main_sem_exact(void *arg)
{
    (void)arg;
    atomic_store(&sem_inside, 0);
    cr_assert_eq(braid_sem_new(&sm, SEM_PERMITS, 0), 0);
    cr_assert_eq(braid_event_new(&sem_go), 0);
    braid_task *t[SEM_HOLDERS];
    for (int i = 0; i < SEM_HOLDERS; i++)
        t[i] = spawn(sem_holder, NULL);
    wait_count(&sem_inside, SEM_PERMITS);
    cr_assert_eq(braid_sleep(30 * MS), 0); /* time for a wrongly admitted 4th */
    cr_assert_eq(atomic_load(&sem_inside), SEM_PERMITS, "%d holders inside",
                 atomic_load(&sem_inside));
    cr_assert_eq(braid_sem_value(sm), 0);
    cr_assert_eq(braid_event_set(sem_go), 0);
    for (int i = 0; i < SEM_HOLDERS; i++)
        join(t[i], 0);
    cr_assert_eq(atomic_load(&sem_inside), 0);
    cr_assert_eq(braid_sem_value(sm), SEM_PERMITS);
    braid_event_free(sem_go);
    braid_sem_free(sm);
    return 0;
}

Test(sem, exactly_n_holders_get_in_the_rest_wait, .timeout = 10)
{
    run_main_1_and_2(main_sem_exact, NULL);
}

static int64_t sem_fifo_acquirer(void *arg)
{
    int id = (int)IARG(arg);
    atomic_fetch_add(&fifo_queued, 1);
    int err = braid_sem_acquire(sm);
    if (err != 0)
        return err;
    fifo_order[atomic_fetch_add(&fifo_n, 1)] = id;
    return 0;
}

static int64_t main_sem_fifo(void *arg)
{
    (void)arg;
    atomic_store(&fifo_queued, 0);
    atomic_store(&fifo_n, 0);
    cr_assert_eq(braid_sem_new(&sm, 0, 0), 0);
    braid_task *t[FIFO_N];
    for (int i = 0; i < FIFO_N; i++) {
        t[i] = spawn(sem_fifo_acquirer, ARG(i));
        wait_count(&fifo_queued, i + 1); /* one worker: it is queued */
    }
    /* A cancelled waiter gets no permit. */
    cr_assert_eq(braid_cancel(t[3]), 1);
    cr_assert_eq(braid_await(t[3], NULL), -ECANCELED);
    /* One release at a time, each recorded by the waiter it went to. */
    for (int i = 0; i < FIFO_N - 1; i++) {
        cr_assert_eq(braid_sem_release(sm), 0);
        wait_count(&fifo_n, i + 1);
    }
    for (int i = 0; i < FIFO_N; i++)
        join(t[i], i == 3 ? -ECANCELED : 0);
    cr_assert_eq(atomic_load(&fifo_n), FIFO_N - 1);
    for (int i = 0, k = 0; i < FIFO_N; i++) {
        if (i == 3)
            continue;
        cr_assert_eq(fifo_order[k], i, "permit %d went to task %d", k, fifo_order[k]);
        k++;
    }
    cr_assert_eq(braid_sem_value(sm), 0, "a permit went to the cancelled waiter");
    cr_assert_eq(braid_sem_release(sm), 0);
    cr_assert_eq(braid_sem_value(sm), 1);
    braid_sem_free(sm);
    return 0;
}

Test(sem, permits_go_to_waiters_in_fifo_order, .timeout = 10)
{
    run_main(1, main_sem_fifo, NULL);
}

static int64_t main_sem_bounded(void *arg)
{
    (void)arg;
    braid_sem *s;
    cr_assert_eq(braid_sem_new(&s, 1, 2), 0);
    cr_assert_eq(braid_sem_value(s), 1);
    cr_assert_eq(braid_sem_release(s), 0);
    cr_assert_eq(braid_sem_value(s), 2);
    cr_assert_eq(braid_sem_release(s), -EOVERFLOW);
    cr_assert_eq(braid_sem_value(s), 2, "a refused release changed the value");
    cr_assert_eq(braid_sem_acquire(s), 0);
    cr_assert_eq(braid_sem_acquire(s), 0);
    cr_assert_eq(braid_sem_value(s), 0);
    cr_assert_eq(braid_sem_acquire_until(s, braid_now() + 5 * MS), -ETIMEDOUT);
    cr_assert_eq(braid_sem_release(s), 0);
    cr_assert_eq(braid_sem_release(s), 0);
    cr_assert_eq(braid_sem_release(s), -EOVERFLOW);
    braid_sem_free(s);
    /* Unbounded: no limit. */
    cr_assert_eq(braid_sem_new(&s, 0, 0), 0);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(braid_sem_release(s), 0);
    cr_assert_eq(braid_sem_value(s), 1000);
    braid_sem_free(s);
    return 0;
}

Test(sem, bounded_release_past_max_is_eoverflow, .timeout = 10)
{
    run_main(1, main_sem_bounded, NULL);
}

static int64_t main_sem_timeout(void *arg)
{
    (void)arg;
    braid_sem *s;
    cr_assert_eq(braid_sem_new(&s, 0, 0), 0);
    int64_t deadline = braid_now() + 30 * MS;
    cr_assert_eq(braid_sem_acquire_until(s, deadline), -ETIMEDOUT);
    cr_assert_geq(braid_now(), deadline, "timed out early");
    cr_assert_lt(braid_now() - deadline, 1000 * MS);
    /* The timed-out waiter left: a release raises the count. */
    cr_assert_eq(braid_sem_release(s), 0);
    cr_assert_eq(braid_sem_value(s), 1);
    cr_assert_eq(braid_sem_acquire_until(s, 0), 0, "an available permit beats a past deadline");
    cr_assert_eq(braid_sem_value(s), 0);
    braid_sem_free(s);
    return 0;
}

Test(sem, acquire_until_times_out, .timeout = 10)
{
    run_main_1_and_2(main_sem_timeout, NULL);
}

Test(sem, bad_arguments_and_outside_a_coroutine, .timeout = 10)
{
    braid_sem *s = NULL;
    cr_assert_eq(braid_sem_new(NULL, 1, 0), -EINVAL);
    cr_assert_eq(braid_sem_new(&s, -1, 0), -EINVAL);
    cr_assert_eq(braid_sem_new(&s, 0, -1), -EINVAL);
    cr_assert_eq(braid_sem_new(&s, 3, 2), -EINVAL, "initial above max");
    cr_assert_eq(braid_sem_acquire(NULL), -EINVAL);
    cr_assert_eq(braid_sem_acquire_until(NULL, 0), -EINVAL);
    cr_assert_eq(braid_sem_release(NULL), -EINVAL);
    cr_assert_eq(braid_sem_value(NULL), -EINVAL);
    cr_assert_eq(braid_sem_new(&s, 2, 2), 0);
    cr_assert_eq(braid_sem_acquire(s), -EPERM);
    cr_assert_eq(braid_sem_acquire_until(s, 0), -EPERM);
    cr_assert_eq(braid_sem_value(s), 2, "a refused acquire took a permit");
    braid_sem_free(s);
    braid_sem_free(NULL);
}

/* ====================================================================== */
/* condition                                                               */
/* ====================================================================== */

enum { PC_CAP = 4, PC_PRODUCERS = 2, PC_CONSUMERS = 2, PC_ITEMS = 3000 };
static struct {
    braid_mutex *x;
    braid_cond *not_empty, *not_full;
    long buf[PC_CAP];
    int head, count;
    long long consumed_sum;
    int consumed;
} pc;

static int64_t pc_producer(void *arg)
{
    long base = (long)IARG(arg) * PC_ITEMS;
    for (long i = 0; i < PC_ITEMS; i++) {
        cr_assert_eq(braid_mutex_lock(pc.x), 0);
        while (pc.count == PC_CAP)
            cr_assert_eq(braid_cond_wait(pc.not_full, pc.x), 0);
        pc.buf[(pc.head + pc.count) % PC_CAP] = base + i;
        pc.count++;
        cr_assert_geq(braid_cond_notify(pc.not_empty, 1), 0);
        cr_assert_eq(braid_mutex_unlock(pc.x), 0);
    }
    return 0;
}

static int64_t pc_consumer(void *arg)
{
    (void)arg;
    long long sum = 0;
    for (int i = 0; i < PC_ITEMS * PC_PRODUCERS / PC_CONSUMERS; i++) {
        cr_assert_eq(braid_mutex_lock(pc.x), 0);
        while (pc.count == 0)
            cr_assert_eq(braid_cond_wait(pc.not_empty, pc.x), 0);
        long v = pc.buf[pc.head];
        pc.head = (pc.head + 1) % PC_CAP;
        pc.count--;
        pc.consumed++;
        cr_assert_geq(braid_cond_notify(pc.not_full, 1), 0);
        cr_assert_eq(braid_mutex_unlock(pc.x), 0);
        sum += v;
    }
    return sum;
}

static int64_t main_cond_pc(void *arg)
{
    (void)arg;
    memset(&pc, 0, sizeof pc);
    cr_assert_eq(braid_mutex_new(&pc.x), 0);
    cr_assert_eq(braid_cond_new(&pc.not_empty), 0);
    cr_assert_eq(braid_cond_new(&pc.not_full), 0);
    braid_task *p[PC_PRODUCERS], *c[PC_CONSUMERS];
    for (int i = 0; i < PC_CONSUMERS; i++)
        c[i] = spawn(pc_consumer, NULL);
    for (int i = 0; i < PC_PRODUCERS; i++)
        p[i] = spawn(pc_producer, ARG(i));
    for (int i = 0; i < PC_PRODUCERS; i++)
        join(p[i], 0);
    long long sum = 0;
    for (int i = 0; i < PC_CONSUMERS; i++) {
        int64_t r = 0;
        cr_assert_eq(braid_await(c[i], &r), 0);
        braid_task_release(c[i]);
        sum += r;
    }
    long long n = (long long)PC_ITEMS * PC_PRODUCERS;
    cr_assert_eq(pc.consumed, n);
    cr_assert_eq(pc.count, 0);
    cr_assert_eq(sum, n * (n - 1) / 2, "sum %lld", sum);
    cr_assert_eq(braid_cond_notify_all(pc.not_empty), 0, "nobody waits any more");
    braid_cond_free(pc.not_empty);
    braid_cond_free(pc.not_full);
    braid_mutex_free(pc.x);
    return 0;
}

Test(cond, producer_consumer_with_a_predicate_loop, .timeout = 60)
{
    run_main_1_and_2(main_cond_pc, NULL);
}

enum { CW_N = 5 };
static braid_mutex *cw_x;
static braid_cond *cw_c;
static int cw_waiting; /* under cw_x */
static atomic_int cw_woken;

static int64_t cw_waiter(void *arg)
{
    (void)arg;
    cr_assert_eq(braid_mutex_lock(cw_x), 0);
    cw_waiting++;
    int err = braid_cond_wait(cw_c, cw_x);
    atomic_fetch_add(&cw_woken, 1);
    cw_waiting--;
    /* Woken or not, it owns the mutex again. */
    cr_assert_eq(braid_mutex_unlock(cw_x), 0);
    return err;
}

/* Sleep until the waiters counted under the mutex are n. They count before
 * cond_wait, which queues them before it releases the mutex, so once we
 * hold the mutex and see n, all n are queued. */
static void cw_wait_for_waiters(int n)
{
    int64_t give_up = braid_now() + 5 * BRAID_SEC;
    for (;;) {
        cr_assert_eq(braid_mutex_lock(cw_x), 0);
        int k = cw_waiting;
        cr_assert_eq(braid_mutex_unlock(cw_x), 0);
        if (k == n)
            return;
        cr_assert_lt(braid_now(), give_up, "%d of %d waiters", k, n);
        cr_assert_eq(braid_sleep(MS), 0);
    }
}

static int64_t main_cond_notify(void *arg)
{
    (void)arg;
    atomic_store(&cw_woken, 0);
    cw_waiting = 0;
    cr_assert_eq(braid_mutex_new(&cw_x), 0);
    cr_assert_eq(braid_cond_new(&cw_c), 0);
    cr_assert_eq(braid_cond_notify(cw_c, 1), 0, "no waiter: nothing to wake");
    cr_assert_eq(braid_cond_notify_all(cw_c), 0);
    braid_task *t[CW_N];
    for (int i = 0; i < CW_N; i++)
        t[i] = spawn(cw_waiter, NULL);
    cw_wait_for_waiters(CW_N);
    cr_assert_eq(braid_sleep(10 * MS), 0);
    cr_assert_eq(atomic_load(&cw_woken), 0, "woken without a notify");

    cr_assert_eq(braid_cond_notify(cw_c, 1), 1);
    cw_wait_for_waiters(CW_N - 1);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(atomic_load(&cw_woken), 1, "notify(1) woke %d", atomic_load(&cw_woken));

    cr_assert_eq(braid_cond_notify(cw_c, 2), 2);
    cw_wait_for_waiters(CW_N - 3);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(atomic_load(&cw_woken), 3, "notify(2) woke %d", atomic_load(&cw_woken) - 1);

    cr_assert_eq(braid_cond_notify_all(cw_c), CW_N - 3);
    for (int i = 0; i < CW_N; i++)
        join(t[i], 0);
    cr_assert_eq(atomic_load(&cw_woken), CW_N);
    cr_assert_eq(braid_cond_notify(cw_c, 3), 0);
    cr_assert_eq(braid_cond_notify(cw_c, -1), -EINVAL);
    braid_cond_free(cw_c);
    braid_mutex_free(cw_x);
    return 0;
}

Test(cond, notify_wakes_n_notify_all_wakes_all_and_both_count, .timeout = 10)
{
    run_main_1_and_2(main_cond_notify, NULL);
}

static atomic_int cw_stage;
static int64_t cw_released_at;
static int64_t cw_returned_at;
static int cw_ret;

static int64_t cw_timed_waiter(void *arg)
{
    (void)arg;
    cr_assert_eq(braid_mutex_lock(cw_x), 0);
    atomic_store(&cw_stage, 1);
    int64_t deadline = braid_now() + 30 * MS;
    cw_ret = braid_cond_wait_until(cw_c, cw_x, deadline);
    cw_returned_at = braid_now();
    cr_assert_geq(cw_returned_at, deadline, "timed out early");
    /* It owns the mutex again: unlock succeeds, and a second one fails. */
    cr_assert_eq(braid_mutex_unlock(cw_x), 0, "not the owner after -ETIMEDOUT");
    cr_assert_eq(braid_mutex_unlock(cw_x), -EPERM);
    return 0;
}

static int64_t main_cond_timeout(void *arg)
{
    (void)arg;
    atomic_store(&cw_stage, 0);
    cw_ret = 1;
    cr_assert_eq(braid_mutex_new(&cw_x), 0);
    cr_assert_eq(braid_cond_new(&cw_c), 0);
    braid_task *t = spawn(cw_timed_waiter, NULL);
    wait_count(&cw_stage, 1);
    /* The waiter released the mutex while it waits: we can take it... */
    cr_assert_eq(braid_mutex_lock(cw_x), 0);
    /* ...and hold it past the waiter's deadline: the waiter's call must
     * not return before it has the mutex back. */
    cr_assert_eq(braid_sleep(80 * MS), 0);
    cw_released_at = braid_now();
    cr_assert_eq(braid_mutex_unlock(cw_x), 0);
    join(t, 0);
    cr_assert_eq(cw_ret, -ETIMEDOUT);
    cr_assert_geq(cw_returned_at, cw_released_at,
                  "wait_until returned %lld ms before the mutex was free",
                  (long long)((cw_released_at - cw_returned_at) / MS));
    cr_assert_eq(braid_mutex_trylock(cw_x), 0);
    cr_assert_eq(braid_mutex_unlock(cw_x), 0);
    braid_cond_free(cw_c);
    braid_mutex_free(cw_x);
    return 0;
}

Test(cond, wait_releases_the_mutex_and_reacquires_it_on_timeout, .timeout = 10)
{
    run_main_1_and_2(main_cond_timeout, NULL);
}

static int64_t main_cond_cancel(void *arg)
{
    (void)arg;
    atomic_store(&cw_woken, 0);
    cw_waiting = 0;
    cr_assert_eq(braid_mutex_new(&cw_x), 0);
    cr_assert_eq(braid_cond_new(&cw_c), 0);
    braid_task *t = spawn(cw_waiter, NULL);
    cw_wait_for_waiters(1);
    /* Hold the mutex while cancelling: the waiter must wait for it. */
    cr_assert_eq(braid_mutex_lock(cw_x), 0);
    cr_assert_eq(braid_cancel(t), 1);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(atomic_load(&cw_woken), 0, "returned without the mutex");
    cr_assert_eq(braid_mutex_unlock(cw_x), 0);
    /* cw_waiter unlocks (checked inside) and returns cond_wait's status. */
    join(t, -ECANCELED);
    cr_assert_eq(atomic_load(&cw_woken), 1);
    cr_assert_eq(braid_cond_notify_all(cw_c), 0, "the cancelled waiter left the queue");
    braid_cond_free(cw_c);
    braid_mutex_free(cw_x);
    return 0;
}

Test(cond, cancelled_waiter_reacquires_the_mutex, .timeout = 10)
{
    run_main_1_and_2(main_cond_cancel, NULL);
}

static int64_t main_cond_misuse(void *arg)
{
    (void)arg;
    braid_mutex *x;
    braid_cond *c;
    cr_assert_eq(braid_mutex_new(&x), 0);
    cr_assert_eq(braid_cond_new(&c), 0);
    /* Waiting without owning the mutex. */
    cr_assert_eq(braid_cond_wait(c, x), -EPERM);
    cr_assert_eq(braid_cond_wait_until(c, x, braid_now() + MS), -EPERM);
    cr_assert_eq(braid_cond_notify_all(c), 0, "a refused wait left a node queued");
    cr_assert_eq(braid_cond_wait(NULL, x), -EINVAL);
    cr_assert_eq(braid_cond_wait(c, NULL), -EINVAL);
    braid_cond_free(c);
    braid_mutex_free(x);
    return 0;
}

Test(cond, misuse_and_outside_a_coroutine, .timeout = 10)
{
    run_main(1, main_cond_misuse, NULL);
    braid_mutex *x;
    braid_cond *c;
    cr_assert_eq(braid_cond_new(NULL), -EINVAL);
    cr_assert_eq(braid_mutex_new(&x), 0);
    cr_assert_eq(braid_cond_new(&c), 0);
    cr_assert_eq(braid_cond_wait(c, x), -EPERM);
    cr_assert_eq(braid_cond_wait_until(c, x, braid_now() + MS), -EPERM);
    cr_assert_eq(braid_cond_notify(c, 1), 0, "notify works from any thread");
    cr_assert_eq(braid_cond_notify(NULL, 1), -EINVAL);
    cr_assert_eq(braid_cond_notify_all(NULL), -EINVAL);
    braid_cond_free(c);
    braid_cond_free(NULL);
    braid_mutex_free(x);
}

/* ====================================================================== */
/* barrier                                                                 */
/* ====================================================================== */

enum { BAR_N = 8, BAR_ROUNDS = 25 };
static braid_barrier *bar;
static atomic_int bar_arrived[BAR_ROUNDS];
static atomic_int bar_seen[BAR_ROUNDS][BAR_N];
static atomic_int bar_early;

static int64_t bar_party(void *arg)
{
    unsigned seed = (unsigned)IARG(arg) * 2654435761u + 1;
    for (int r = 0; r < BAR_ROUNDS; r++) {
        /* Vary the arrival order from round to round. */
        for (int k = rand_r(&seed) % 4; k > 0; k--)
            cr_assert_eq(braid_yield(), 0);
        atomic_fetch_add(&bar_arrived[r], 1);
        int idx = braid_barrier_wait(bar);
        cr_assert(idx >= 0 && idx < BAR_N, "round %d: index %d", r, idx);
        if (atomic_load(&bar_arrived[r]) != BAR_N)
            atomic_fetch_add(&bar_early, 1);
        atomic_fetch_add(&bar_seen[r][idx], 1);
    }
    return 0;
}

static int64_t main_barrier(void *arg)
{
    (void)arg;
    memset(bar_arrived, 0, sizeof bar_arrived);
    memset(bar_seen, 0, sizeof bar_seen);
    atomic_store(&bar_early, 0);
    cr_assert_eq(braid_barrier_new(&bar, BAR_N), 0);
    braid_task *t[BAR_N];
    for (int i = 0; i < BAR_N; i++)
        t[i] = spawn(bar_party, ARG(i));
    for (int i = 0; i < BAR_N; i++)
        join(t[i], 0);
    cr_assert_eq(atomic_load(&bar_early), 0, "a party passed before all arrived");
    for (int r = 0; r < BAR_ROUNDS; r++)
        for (int i = 0; i < BAR_N; i++)
            cr_assert_eq(atomic_load(&bar_seen[r][i]), 1, "round %d: index %d given %d times",
                         r, i, atomic_load(&bar_seen[r][i]));
    braid_barrier_free(bar);
    return 0;
}

Test(barrier, distinct_indices_nobody_passes_early_reusable, .timeout = 30)
{
    run_main_1_and_2(main_barrier, NULL);
}

static atomic_int bar_waiting;

static int64_t bar_one(void *arg)
{
    (void)arg;
    atomic_fetch_add(&bar_waiting, 1);
    return braid_barrier_wait(bar);
}

static int64_t main_barrier_cancel(void *arg)
{
    (void)arg;
    atomic_store(&bar_waiting, 0);
    cr_assert_eq(braid_barrier_new(&bar, 3), 0);
    braid_task *a = spawn(bar_one, NULL);
    wait_count(&bar_waiting, 1);
    cr_assert_eq(braid_sleep(10 * MS), 0);
    cr_assert_eq(braid_cancel(a), 1);
    join(a, -ECANCELED);
    /* a left the round: it takes three more parties to pass. */
    braid_task *b = spawn(bar_one, NULL), *c = spawn(bar_one, NULL);
    wait_count(&bar_waiting, 3);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(braid_task_done(b), 0, "passed with a cancelled party counted");
    cr_assert_eq(braid_task_done(c), 0);
    int idx = braid_barrier_wait(bar);
    cr_assert(idx >= 0 && idx < 3);
    int64_t rb = -1, rc = -1;
    cr_assert_eq(braid_await(b, &rb), 0);
    cr_assert_eq(braid_await(c, &rc), 0);
    braid_task_release(b);
    braid_task_release(c);
    cr_assert(rb != rc && rb != idx && rc != idx && rb + rc + idx == 0 + 1 + 2,
              "indices %lld %lld %d", (long long)rb, (long long)rc, idx);
    braid_barrier_free(bar);
    return 0;
}

Test(barrier, cancelled_party_leaves_the_round, .timeout = 10)
{
    run_main_1_and_2(main_barrier_cancel, NULL);
}

static int64_t main_barrier_one(void *arg)
{
    (void)arg;
    braid_barrier *b;
    cr_assert_eq(braid_barrier_new(&b, 1), 0);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(braid_barrier_wait(b), 0, "a party of one passes at once");
    braid_barrier_free(b);
    return 0;
}

Test(barrier, bad_arguments_party_of_one_and_outside_a_coroutine, .timeout = 10)
{
    braid_barrier *b;
    cr_assert_eq(braid_barrier_new(&b, 0), -EINVAL);
    cr_assert_eq(braid_barrier_new(NULL, 2), -EINVAL);
    cr_assert_eq(braid_barrier_wait(NULL), -EINVAL);
    cr_assert_eq(braid_barrier_new(&b, 2), 0);
    cr_assert_eq(braid_barrier_wait(b), -EPERM);
    braid_barrier_free(b);
    braid_barrier_free(NULL);
    run_main(1, main_barrier_one, NULL);
}

/* ====================================================================== */
/* channel                                                                 */
/* ====================================================================== */

enum { FIFO_VALUES = 10000 };

static int64_t ch_fifo_producer(void *arg)
{
    braid_chan *c = arg;
    for (intptr_t i = 0; i < FIFO_VALUES; i++)
        cr_assert_eq(braid_chan_send(c, i * 3 + 1), 0);
    cr_assert_eq(braid_chan_close(c), 0);
    return 0;
}

static int64_t main_chan_fifo(void *arg)
{
    (void)arg;
    braid_chan *c;
    cr_assert_eq(braid_chan_new(&c, 4), 0);
    braid_task *p = spawn(ch_fifo_producer, c);
    intptr_t v;
    for (intptr_t i = 0; i < FIFO_VALUES; i++) {
        cr_assert_eq(braid_chan_recv(c, &v), 0);
        cr_assert_eq(v, i * 3 + 1, "value %ld arrived as %ld", (long)(i * 3 + 1), (long)v);
    }
    cr_assert_eq(braid_chan_recv(c, &v), -EPIPE);
    join(p, 0);
    braid_chan_free(c);
    return 0;
}

Test(chan, fifo_order_one_producer_one_consumer, .timeout = 30)
{
    run_main_1_and_2(main_chan_fifo, NULL);
}

static atomic_int ch_sender_started;

static int64_t ch_blocking_sender(void *arg)
{
    braid_chan *c = arg;
    int64_t t0 = braid_now(); /* before the announcement: blocked >= main's sleep */
    atomic_store(&ch_sender_started, 1);
    int err = braid_chan_send(c, 99);
    if (err != 0)
        return err;
    return braid_now() - t0;
}

static int64_t main_chan_capacity(void *arg)
{
    (void)arg;
    atomic_store(&ch_sender_started, 0);
    braid_chan *c;
    cr_assert_eq(braid_chan_new(&c, 3), 0);
    cr_assert_eq(braid_chan_len(c), 0);
    for (intptr_t i = 0; i < 3; i++)
        cr_assert_eq(braid_chan_try_send(c, i), 0);
    cr_assert_eq(braid_chan_try_send(c, 3), -EAGAIN, "accepted a value past capacity");
    cr_assert_eq(braid_chan_len(c), 3);
    cr_assert_eq(braid_chan_send_until(c, 3, braid_now() + 5 * MS), -ETIMEDOUT);
    /* A sender blocks while the channel is full. */
    braid_task *s = spawn(ch_blocking_sender, c);
    wait_count(&ch_sender_started, 1);
    cr_assert_eq(braid_sleep(40 * MS), 0);
    cr_assert_eq(braid_task_done(s), 0, "send returned on a full channel");
    cr_assert_eq(braid_chan_len(c), 3);
    /* One receive makes room: the sender's value takes the freed slot. */
    intptr_t v;
    cr_assert_eq(braid_chan_recv(c, &v), 0);
    cr_assert_eq(v, 0);
    int64_t blocked = 0;
    cr_assert_eq(braid_await(s, &blocked), 0);
    braid_task_release(s);
    cr_assert_geq(blocked, 40 * MS, "the sender was blocked %lld ms only",
                  (long long)(blocked / MS));
    cr_assert_eq(braid_chan_len(c), 3);
    intptr_t expect[3] = {1, 2, 99};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(braid_chan_try_recv(c, &v), 0);
        cr_assert_eq(v, expect[i], "got %ld, expected %ld", (long)v, (long)expect[i]);
    }
    cr_assert_eq(braid_chan_try_recv(c, &v), -EAGAIN);
    cr_assert_eq(braid_chan_len(c), 0);
    braid_chan_free(c);
    return 0;
}

Test(chan, capacity_is_respected_and_full_senders_block, .timeout = 10)
{
    run_main_1_and_2(main_chan_capacity, NULL);
}

enum { MPMC_PRODUCERS = 4, MPMC_CONSUMERS = 4, MPMC_TOTAL = 100000 };
static braid_chan *mpmc;
static atomic_uchar mpmc_count[MPMC_TOTAL];
static atomic_llong mpmc_sum;
static atomic_int mpmc_received, mpmc_bad;

static int64_t mpmc_producer(void *arg)
{
    intptr_t id = (intptr_t)IARG(arg);
    /* Producer id sends id, id + P, id + 2P, ... */
    for (intptr_t v = id; v < MPMC_TOTAL; v += MPMC_PRODUCERS)
        cr_assert_eq(braid_chan_send(mpmc, v), 0);
    return 0;
}

static int64_t mpmc_consumer(void *arg)
{
    (void)arg;
    intptr_t v, last[MPMC_PRODUCERS];
    for (int i = 0; i < MPMC_PRODUCERS; i++)
        last[i] = -1;
    int err;
    while ((err = braid_chan_recv(mpmc, &v)) == 0) {
        if (v < 0 || v >= MPMC_TOTAL) {
            atomic_fetch_add(&mpmc_bad, 1);
            continue;
        }
        /* Per producer, one consumer sees increasing values (FIFO). */
        int p = (int)(v % MPMC_PRODUCERS);
        if (v <= last[p])
            atomic_fetch_add(&mpmc_bad, 1);
        last[p] = v;
        atomic_fetch_add(&mpmc_count[v], 1);
        atomic_fetch_add(&mpmc_sum, (long long)v);
        atomic_fetch_add(&mpmc_received, 1);
    }
    return err == -EPIPE ? 0 : err;
}

static int64_t main_chan_mpmc(void *arg)
{
    (void)arg;
    memset(mpmc_count, 0, sizeof mpmc_count);
    atomic_store(&mpmc_sum, 0);
    atomic_store(&mpmc_received, 0);
    atomic_store(&mpmc_bad, 0);
    cr_assert_eq(braid_chan_new(&mpmc, 16), 0);
    braid_task *p[MPMC_PRODUCERS], *c[MPMC_CONSUMERS];
    for (int i = 0; i < MPMC_CONSUMERS; i++)
        c[i] = spawn(mpmc_consumer, NULL);
    for (int i = 0; i < MPMC_PRODUCERS; i++)
        p[i] = spawn(mpmc_producer, ARG(i));
    for (int i = 0; i < MPMC_PRODUCERS; i++)
        join(p[i], 0);
    cr_assert_eq(braid_chan_close(mpmc), 0);
    for (int i = 0; i < MPMC_CONSUMERS; i++)
        join(c[i], 0);
    cr_assert_eq(atomic_load(&mpmc_bad), 0, "out-of-range or out-of-order values");
    cr_assert_eq(atomic_load(&mpmc_received), MPMC_TOTAL);
    long long n = MPMC_TOTAL;
    cr_assert_eq(atomic_load(&mpmc_sum), n * (n - 1) / 2);
    for (int v = 0; v < MPMC_TOTAL; v++)
        cr_assert_eq(atomic_load(&mpmc_count[v]), 1, "value %d received %d times", v,
                     (int)atomic_load(&mpmc_count[v]));
    cr_assert_eq(braid_chan_len(mpmc), 0);
    braid_chan_free(mpmc);
    return 0;
}

Test(chan, many_producers_and_consumers_pass_every_value_exactly_once, .timeout = 60)
{
    run_main_1_and_2(main_chan_mpmc, NULL);
}

static atomic_int ch_blocked;

static int64_t ch_receiver(void *arg)
{
    intptr_t v = 12345;
    atomic_fetch_add(&ch_blocked, 1);
    int err = braid_chan_recv(arg, &v);
    return err != 0 ? err : (int64_t)v;
}

static int64_t ch_sender(void *arg)
{
    atomic_fetch_add(&ch_blocked, 1);
    return braid_chan_send(arg, 7);
}

static int64_t main_chan_close_receivers(void *arg)
{
    (void)arg;
    atomic_store(&ch_blocked, 0);
    braid_chan *c;
    cr_assert_eq(braid_chan_new(&c, 2), 0);
    braid_task *r[3];
    for (int i = 0; i < 3; i++)
        r[i] = spawn(ch_receiver, c);
    wait_count(&ch_blocked, 3);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(braid_task_done(r[i]), 0);
    cr_assert_eq(braid_chan_close(c), 0);
    for (int i = 0; i < 3; i++)
        join(r[i], -EPIPE);
    cr_assert_eq(braid_chan_close(c), -EALREADY);
    braid_chan_free(c);
    return 0;
}

Test(chan, close_wakes_blocked_receivers_with_epipe, .timeout = 10)
{
    run_main_1_and_2(main_chan_close_receivers, NULL);
}

static int64_t main_chan_close_senders(void *arg)
{
    (void)arg;
    atomic_store(&ch_blocked, 0);
    braid_chan *c;
    cr_assert_eq(braid_chan_new(&c, 1), 0);
    cr_assert_eq(braid_chan_send(c, 1), 0);
    braid_task *s[3];
    for (int i = 0; i < 3; i++)
        s[i] = spawn(ch_sender, c);
    wait_count(&ch_blocked, 3);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(braid_task_done(s[i]), 0, "sender %d did not block", i);
    cr_assert_eq(braid_chan_close(c), 0);
    for (int i = 0; i < 3; i++)
        join(s[i], -EPIPE);
    /* Their values were not delivered; the one buffered before is. */
    intptr_t v;
    cr_assert_eq(braid_chan_len(c), 1);
    cr_assert_eq(braid_chan_recv(c, &v), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(braid_chan_recv(c, &v), -EPIPE);
    braid_chan_free(c);
    return 0;
}

Test(chan, close_wakes_blocked_senders_with_epipe, .timeout = 10)
{
    run_main_1_and_2(main_chan_close_senders, NULL);
}

static int64_t main_chan_drain(void *arg)
{
    (void)arg;
    braid_chan *c;
    cr_assert_eq(braid_chan_new(&c, 8), 0);
    for (intptr_t i = 1; i <= 3; i++)
        cr_assert_eq(braid_chan_send(c, i * 10), 0);
    cr_assert_eq(braid_chan_close(c), 0);
    cr_assert_eq(braid_chan_send(c, 40), -EPIPE);
    cr_assert_eq(braid_chan_try_send(c, 40), -EPIPE);
    cr_assert_eq(braid_chan_send_until(c, 40, braid_now() + MS), -EPIPE);
    cr_assert_eq(braid_chan_len(c), 3, "a send after close was buffered");
    intptr_t v;
    cr_assert_eq(braid_chan_recv(c, &v), 0);
    cr_assert_eq(v, 10);
    cr_assert_eq(braid_chan_try_recv(c, &v), 0);
    cr_assert_eq(v, 20);
    cr_assert_eq(braid_chan_recv_until(c, &v, braid_now() + MS), 0);
    cr_assert_eq(v, 30);
    cr_assert_eq(braid_chan_recv(c, &v), -EPIPE);
    cr_assert_eq(braid_chan_try_recv(c, &v), -EPIPE);
    cr_assert_eq(braid_chan_recv_until(c, &v, braid_now() + 10 * MS), -EPIPE);
    cr_assert_eq(braid_chan_close(c), -EALREADY);
    cr_assert_eq(braid_chan_close(c), -EALREADY);
    braid_chan_free(c);
    return 0;
}

Test(chan, receivers_drain_the_buffer_after_close_then_get_epipe, .timeout = 10)
{
    run_main(1, main_chan_drain, NULL);
}

static int64_t main_chan_deadlines(void *arg)
{
    (void)arg;
    braid_chan *c;
    cr_assert_eq(braid_chan_new(&c, 1), 0);
    intptr_t v = 555;
    int64_t deadline = braid_now() + 30 * MS;
    cr_assert_eq(braid_chan_recv_until(c, &v, deadline), -ETIMEDOUT);
    cr_assert_geq(braid_now(), deadline, "recv_until timed out early");
    cr_assert_lt(braid_now() - deadline, 1000 * MS);
    cr_assert_eq(v, 555, "a timed-out recv wrote the value");
    cr_assert_eq(braid_chan_recv_until(c, &v, 0), -ETIMEDOUT);
    /* The timed-out receiver left: a value sent now is buffered. */
    cr_assert_eq(braid_chan_try_send(c, 1), 0);
    cr_assert_eq(braid_chan_len(c), 1);
    deadline = braid_now() + 30 * MS;
    cr_assert_eq(braid_chan_send_until(c, 2, deadline), -ETIMEDOUT);
    cr_assert_geq(braid_now(), deadline, "send_until timed out early");
    /* The timed-out value was not enqueued. */
    cr_assert_eq(braid_chan_recv(c, &v), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(braid_chan_try_recv(c, &v), -EAGAIN, "a timed-out send delivered");
    braid_chan_free(c);
    return 0;
}

Test(chan, recv_until_and_send_until_time_out, .timeout = 10)
{
    run_main_1_and_2(main_chan_deadlines, NULL);
}

static int64_t main_chan_cancel(void *arg)
{
    (void)arg;
    atomic_store(&ch_blocked, 0);
    braid_chan *c;
    cr_assert_eq(braid_chan_new(&c, 1), 0);
    /* A cancelled receiver: the next value is not handed to it. */
    braid_task *r = spawn(ch_receiver, c);
    wait_count(&ch_blocked, 1);
    cr_assert_eq(braid_sleep(10 * MS), 0);
    cr_assert_eq(braid_cancel(r), 1);
    join(r, -ECANCELED);
    cr_assert_eq(braid_chan_send(c, 5), 0);
    cr_assert_eq(braid_chan_len(c), 1, "the value went to a cancelled receiver");
    /* A cancelled sender: its value is not enqueued. */
    braid_task *s = spawn(ch_sender, c);
    wait_count(&ch_blocked, 2);
    cr_assert_eq(braid_sleep(10 * MS), 0);
    cr_assert_eq(braid_cancel(s), 1);
    join(s, -ECANCELED);
    intptr_t v;
    cr_assert_eq(braid_chan_recv(c, &v), 0);
    cr_assert_eq(v, 5);
    cr_assert_eq(braid_chan_try_recv(c, &v), -EAGAIN, "a cancelled send delivered");
    braid_chan_free(c);
    return 0;
}

Test(chan, cancelled_sender_and_receiver_leave_the_queues, .timeout = 10)
{
    run_main_1_and_2(main_chan_cancel, NULL);
}

enum { ROUND_TRIPS = 10000 };
static braid_chan *ping, *pong;

static int64_t ponger(void *arg)
{
    (void)arg;
    intptr_t v;
    for (int i = 0; i < ROUND_TRIPS; i++) {
        cr_assert_eq(braid_chan_recv(ping, &v), 0);
        cr_assert_eq(v, i, "ping %d arrived as %ld", i, (long)v);
        cr_assert_eq(braid_chan_send(pong, -v - 1), 0);
    }
    return 0;
}

static int64_t main_ping_pong(void *arg)
{
    (void)arg;
    cr_assert_eq(braid_chan_new(&ping, 1), 0);
    cr_assert_eq(braid_chan_new(&pong, 1), 0);
    braid_task *t = spawn(ponger, NULL);
    intptr_t v;
    for (intptr_t i = 0; i < ROUND_TRIPS; i++) {
        cr_assert_eq(braid_chan_send(ping, i), 0);
        cr_assert_eq(braid_chan_recv(pong, &v), 0);
        cr_assert_eq(v, -i - 1, "pong %ld arrived as %ld", (long)i, (long)v);
    }
    join(t, 0);
    cr_assert_eq(braid_chan_len(ping), 0);
    cr_assert_eq(braid_chan_len(pong), 0);
    braid_chan_free(ping);
    braid_chan_free(pong);
    return 0;
}

Test(chan, ping_pong_ten_thousand_round_trips, .timeout = 30)
{
    run_main_1_and_2(main_ping_pong, NULL);
}

/* Objects are not tied to a runtime: coroutines of two runtimes talk over
 * channels (a wake-up crosses runtimes through the injection queue). */
enum { XRT_VALUES = 2000 };

static int64_t xrt_echo(void *arg)
{
    (void)arg;
    intptr_t v;
    int err;
    while ((err = braid_chan_recv(ping, &v)) == 0)
        cr_assert_eq(braid_chan_send(pong, v * 2), 0);
    cr_assert_eq(err, -EPIPE);
    return 0;
}

static int64_t xrt_client(void *arg)
{
    (void)arg;
    intptr_t v;
    for (intptr_t i = 0; i < XRT_VALUES; i++) {
        cr_assert_eq(braid_chan_send(ping, i), 0);
        cr_assert_eq(braid_chan_recv(pong, &v), 0);
        cr_assert_eq(v, 2 * i);
    }
    return braid_chan_close(ping);
}

Test(chan, coroutines_of_two_runtimes_talk_over_channels, .timeout = 30)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        braid_rt *a = rt_make(nw), *b = rt_make(nw);
        cr_assert_eq(braid_chan_new(&ping, 1), 0);
        cr_assert_eq(braid_chan_new(&pong, 1), 0);
        braid_task *echo;
        cr_assert_eq(braid_rt_spawn(b, &echo, xrt_echo, NULL), 0);
        cr_assert_eq(braid_rt_block_on(a, xrt_client, NULL, NULL), 0);
        cr_assert_eq(braid_rt_block_on(b, await_task, echo, NULL), 0);
        braid_task_release(echo);
        braid_chan_free(ping);
        braid_chan_free(pong);
        rt_done(a);
        rt_done(b);
    }
}

Test(chan, bad_arguments_and_outside_a_coroutine, .timeout = 10)
{
    braid_chan *c = NULL;
    intptr_t v;
    cr_assert_eq(braid_chan_new(&c, 0), -EINVAL, "capacity 0");
    cr_assert_eq(braid_chan_new(NULL, 1), -EINVAL);
    cr_assert_eq(braid_chan_new(&c, 2), 0);
    cr_assert_eq(braid_chan_send(c, 1), -EPERM);
    cr_assert_eq(braid_chan_send_until(c, 1, braid_now() + MS), -EPERM);
    cr_assert_eq(braid_chan_recv(c, &v), -EPERM);
    cr_assert_eq(braid_chan_recv_until(c, &v, braid_now() + MS), -EPERM);
    cr_assert_eq(braid_chan_len(c), 0, "a refused send was buffered");
    /* The non-blocking calls work from any thread. */
    cr_assert_eq(braid_chan_try_send(c, 8), 0);
    cr_assert_eq(braid_chan_try_send(c, 9), 0);
    cr_assert_eq(braid_chan_try_send(c, 10), -EAGAIN);
    cr_assert_eq(braid_chan_try_recv(c, &v), 0);
    cr_assert_eq(v, 8);
    cr_assert_eq(braid_chan_try_recv(c, NULL), -EINVAL);
    cr_assert_eq(braid_chan_recv(c, NULL), -EINVAL);
    cr_assert_eq(braid_chan_send(NULL, 1), -EINVAL);
    cr_assert_eq(braid_chan_try_send(NULL, 1), -EINVAL);
    cr_assert_eq(braid_chan_try_recv(NULL, &v), -EINVAL);
    cr_assert_eq(braid_chan_close(NULL), -EINVAL);
    cr_assert_eq(braid_chan_len(NULL), -EINVAL);
    cr_assert_eq(braid_chan_close(c), 0);
    cr_assert_eq(braid_chan_try_recv(c, &v), 0);
    cr_assert_eq(v, 9);
    cr_assert_eq(braid_chan_try_recv(c, &v), -EPIPE);
    braid_chan_free(c);
    braid_chan_free(NULL);
}

/* ====================================================================== */
/* future                                                                  */
/* ====================================================================== */

static int64_t main_future_resolve(void *arg)
{
    (void)arg;
    braid_future *f;
    cr_assert_eq(braid_future_new(&f), 0);
    cr_assert_eq(braid_future_done(f), 0);
    cr_assert_eq(braid_future_resolve(f, 42), 0);
    cr_assert_eq(braid_future_done(f), 1);
    int64_t v = 0;
    cr_assert_eq(braid_future_await(f, &v), 0);
    cr_assert_eq(v, 42);
    v = 0;
    cr_assert_eq(braid_future_await_until(f, &v, 0), 0, "a done future beats a past deadline");
    cr_assert_eq(v, 42);
    cr_assert_eq(braid_future_await(f, NULL), 0, "value may be NULL");
    /* Completed once. */
    cr_assert_eq(braid_future_resolve(f, 43), -EALREADY);
    cr_assert_eq(braid_future_fail(f, -EIO), -EALREADY);
    cr_assert_eq(braid_future_await(f, &v), 0);
    cr_assert_eq(v, 42, "a refused completion changed the value");
    braid_future_free(f);
    /* Negative and zero values are values too. */
    cr_assert_eq(braid_future_new(&f), 0);
    cr_assert_eq(braid_future_resolve(f, -5), 0);
    cr_assert_eq(braid_future_await(f, &v), 0);
    cr_assert_eq(v, -5);
    braid_future_free(f);
    return 0;
}

Test(future, resolve_then_await_gives_the_value_and_second_resolve_is_ealready, .timeout = 10)
{
    run_main(1, main_future_resolve, NULL);
}

static int64_t main_future_fail(void *arg)
{
    (void)arg;
    braid_future *f;
    cr_assert_eq(braid_future_new(&f), 0);
    cr_assert_eq(braid_future_fail(f, 0), -EINVAL);
    cr_assert_eq(braid_future_fail(f, 5), -EINVAL);
    cr_assert_eq(braid_future_done(f), 0, "a refused fail completed the future");
    cr_assert_eq(braid_future_fail(f, -EIO), 0);
    cr_assert_eq(braid_future_done(f), 1);
    int64_t v = 777;
    cr_assert_eq(braid_future_await(f, &v), -EIO);
    cr_assert_eq(v, 777, "a failed future wrote a value");
    cr_assert_eq(braid_future_await_until(f, &v, braid_now() + MS), -EIO);
    cr_assert_eq(braid_future_fail(f, -ENOENT), -EALREADY);
    cr_assert_eq(braid_future_resolve(f, 1), -EALREADY);
    cr_assert_eq(braid_future_await(f, &v), -EIO);
    braid_future_free(f);
    return 0;
}

Test(future, fail_then_await_gives_the_errno, .timeout = 10)
{
    run_main(1, main_future_fail, NULL);
}

enum { FUT_AWAITERS = 100 };
static braid_future *fut;
static atomic_int fut_waiting, fut_got;

static int64_t fut_awaiter(void *arg)
{
    (void)arg;
    atomic_fetch_add(&fut_waiting, 1);
    int64_t v = -1;
    int err = braid_future_await(fut, &v);
    if (err != 0)
        return err;
    atomic_fetch_add(&fut_got, 1);
    return v;
}

static int64_t fut_resolver(void *arg)
{
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(atomic_load(&fut_got), 0, "an awaiter passed a pending future");
    return braid_future_resolve(fut, IARG(arg));
}

static void fut_reset(void)
{
    atomic_store(&fut_waiting, 0);
    atomic_store(&fut_got, 0);
    cr_assert_eq(braid_future_new(&fut), 0);
}

static void fut_join_awaiters(braid_task **t, int n, int64_t want)
{
    for (int i = 0; i < n; i++) {
        int64_t v = 0;
        int st = braid_await(t[i], &v);
        cr_assert_eq(st, 0, "awaiter %d: %s", i, braid_strerror(st));
        cr_assert_eq(v, want, "awaiter %d got %lld", i, (long long)v);
        braid_task_release(t[i]);
    }
}

static int64_t main_future_many(void *arg)
{
    (void)arg;
    fut_reset();
    braid_task *t[FUT_AWAITERS];
    for (int i = 0; i < FUT_AWAITERS; i++)
        t[i] = spawn(fut_awaiter, NULL);
    braid_task *r = spawn(fut_resolver, ARG(31337));
    fut_join_awaiters(t, FUT_AWAITERS, 31337);
    join(r, 0);
    cr_assert_eq(atomic_load(&fut_got), FUT_AWAITERS);
    braid_future_free(fut);
    return 0;
}

Test(future, many_coroutines_await_one_future_resolved_by_a_coroutine, .timeout = 10)
{
    run_main_1_and_2(main_future_many, NULL);
}

static atomic_int fut_thread_resolved;

static void *fut_resolver_thread(void *arg)
{
    int n = (int)(intptr_t)arg;
    int64_t give_up = braid_now() + 5 * BRAID_SEC;
    while (atomic_load(&fut_waiting) < n && braid_now() < give_up)
        plain_sleep_ms(1);
    plain_sleep_ms(20); /* the awaiters are blocked by now */
    atomic_store(&fut_thread_resolved, braid_future_resolve(fut, 4242) == 0 ? 1 : -1);
    return NULL;
}

static atomic_int fut_worker_seen[2];

static int64_t fut_awaiter_where(void *arg)
{
    int64_t v = fut_awaiter(arg);
    int w = braid_worker_id();
    if (w >= 0 && w < 2)
        atomic_store(&fut_worker_seen[w], 1);
    return v;
}

static int64_t main_future_thread_resolves(void *arg)
{
    (void)arg;
    fut_reset();
    atomic_store(&fut_thread_resolved, 0);
    atomic_store(&fut_worker_seen[0], 0);
    atomic_store(&fut_worker_seen[1], 0);
    enum { N = 32 };
    braid_task *t[N];
    for (int i = 0; i < N; i++)
        t[i] = spawn(fut_awaiter_where, NULL);
    /* Compute for a while so the idle worker steals some of them. */
    spin_ms(20);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, fut_resolver_thread, (void *)(intptr_t)N), 0);
    fut_join_awaiters(t, N, 4242);
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&fut_thread_resolved), 1);
    cr_log_info("awaiters resumed on worker 0: %d, worker 1: %d",
                atomic_load(&fut_worker_seen[0]), atomic_load(&fut_worker_seen[1]));
    braid_future_free(fut);
    return 0;
}

Test(future, resolved_from_a_plain_thread_while_coroutines_await, .timeout = 10)
{
    run_main_1_and_2(main_future_thread_resolves, NULL);
}

static int64_t fut_late_resolver(void *arg)
{
    (void)arg;
    cr_assert_eq(braid_sleep(30 * MS), 0);
    return braid_future_resolve(fut, 99);
}

Test(future, plain_thread_awaits_a_future_resolved_by_a_coroutine, .timeout = 10)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        braid_rt *rt = rt_make(nw);
        fut_reset();
        /* A coroutine awaits too, next to the thread. */
        braid_task *co, *r;
        cr_assert_eq(braid_rt_spawn(rt, &co, fut_awaiter, NULL), 0);
        double t0 = now_ms();
        cr_assert_eq(braid_rt_spawn(rt, &r, fut_late_resolver, NULL), 0);
        int64_t v = 0;
        cr_assert_eq(braid_future_await(fut, &v), 0);
        cr_assert_eq(v, 99);
        cr_assert_geq(now_ms() - t0, 29.9, "the thread returned before the resolve");
        cr_assert_eq(braid_rt_block_on(rt, await_task, r, NULL), 0);
        cr_assert_eq(braid_rt_block_on(rt, await_task, co, NULL), 0);
        braid_task_release(co);
        braid_task_release(r);
        cr_assert_eq(atomic_load(&fut_got), 1, "the coroutine awaiter got the value");
        braid_future_free(fut);
        rt_done(rt);
    }
}

Test(future, plain_thread_await_until_times_out_then_sees_a_failure, .timeout = 10)
{
    braid_future *f;
    cr_assert_eq(braid_future_new(&f), 0);
    int64_t v = 5;
    int64_t deadline = braid_now() + 30 * MS;
    cr_assert_eq(braid_future_await_until(f, &v, deadline), -ETIMEDOUT);
    cr_assert_geq(braid_now(), deadline, "timed out early");
    cr_assert_eq(braid_future_await_until(f, &v, 0), -ETIMEDOUT);
    cr_assert_eq(v, 5);
    cr_assert_eq(braid_future_fail(f, -ENOSPC), 0);
    cr_assert_eq(braid_future_await(f, &v), -ENOSPC);
    cr_assert_eq(braid_future_await_until(f, &v, 0), -ENOSPC);
    braid_future_free(f);
}

static int64_t main_future_deadline(void *arg)
{
    (void)arg;
    braid_future *f;
    cr_assert_eq(braid_future_new(&f), 0);
    int64_t v = 5;
    int64_t deadline = braid_now() + 30 * MS;
    cr_assert_eq(braid_future_await_until(f, &v, deadline), -ETIMEDOUT);
    cr_assert_geq(braid_now(), deadline, "timed out early");
    cr_assert_lt(braid_now() - deadline, 1000 * MS);
    cr_assert_eq(v, 5, "a timed-out await wrote the value");
    cr_assert_eq(braid_future_done(f), 0);
    /* Still usable: resolve, then await succeeds. */
    cr_assert_eq(braid_future_resolve(f, 8), 0);
    cr_assert_eq(braid_future_await_until(f, &v, braid_now() + 30 * MS), 0);
    cr_assert_eq(v, 8);
    braid_future_free(f);
    return 0;
}

Test(future, await_until_times_out_no_earlier_than_the_deadline, .timeout = 10)
{
    run_main_1_and_2(main_future_deadline, NULL);
}

static int64_t main_future_cancel(void *arg)
{
    (void)arg;
    fut_reset();
    braid_task *a = spawn(fut_awaiter, NULL), *b = spawn(fut_awaiter, NULL);
    wait_count(&fut_waiting, 2);
    cr_assert_eq(braid_sleep(10 * MS), 0);
    cr_assert_eq(braid_cancel(a), 1);
    join(a, -ECANCELED);
    cr_assert_eq(braid_future_done(fut), 0, "cancelling an awaiter completed the future");
    cr_assert_eq(braid_future_resolve(fut, 3), 0);
    braid_task *bb[1] = {b};
    fut_join_awaiters(bb, 1, 3);
    braid_future_free(fut);
    return 0;
}

Test(future, cancelled_awaiter_gets_ecanceled_others_still_get_the_value, .timeout = 10)
{
    run_main_1_and_2(main_future_cancel, NULL);
}

static int cb_log[8];
static atomic_int cb_n;
static pthread_t cb_thread[8];

static void cb_record(braid_future *f, void *arg)
{
    int k = atomic_fetch_add(&cb_n, 1);
    if (k < 8) {
        cb_log[k] = (int)(intptr_t)arg;
        cb_thread[k] = pthread_self();
    }
    /* The future is complete when its callbacks run. */
    int64_t v = 0;
    if (braid_future_done(f) != 1 || braid_future_await_until(f, &v, 0) != 0 || v != 11)
        cb_log[k < 8 ? k : 7] = -1;
}

static void *cb_resolver_thread(void *arg)
{
    braid_future_resolve(arg, 11);
    return NULL;
}

Test(future, callbacks_run_once_in_registration_order, .timeout = 10)
{
    atomic_store(&cb_n, 0);
    braid_future *f;
    cr_assert_eq(braid_future_new(&f), 0);
    cr_assert_eq(braid_future_on_done(f, NULL, NULL), -EINVAL);
    cr_assert_eq(braid_future_on_done(NULL, cb_record, NULL), -EINVAL);
    for (int i = 1; i <= 3; i++)
        cr_assert_eq(braid_future_on_done(f, cb_record, (void *)(intptr_t)i), 0);
    cr_assert_eq(atomic_load(&cb_n), 0, "a callback ran before completion");
    /* Complete on another thread: the callbacks run there. */
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, cb_resolver_thread, f), 0);
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&cb_n), 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(cb_log[i], i + 1, "position %d ran callback %d", i, cb_log[i]);
        cr_assert(pthread_equal(cb_thread[i], th), "callback %d not on the completing thread",
                  i + 1);
    }
    /* Registered after completion: runs at once, on this thread. */
    cr_assert_eq(braid_future_on_done(f, cb_record, (void *)(intptr_t)4), 0);
    cr_assert_eq(atomic_load(&cb_n), 4);
    cr_assert_eq(cb_log[3], 4);
    cr_assert(pthread_equal(cb_thread[3], pthread_self()));
    /* A refused second completion runs nothing again. */
    cr_assert_eq(braid_future_resolve(f, 12), -EALREADY);
    cr_assert_eq(atomic_load(&cb_n), 4, "callbacks ran twice");
    braid_future_free(f);
    /* Freeing a future with callbacks that never ran: they do not run. */
    cr_assert_eq(braid_future_new(&f), 0);
    cr_assert_eq(braid_future_on_done(f, cb_record, (void *)(intptr_t)5), 0);
    braid_future_free(f);
    cr_assert_eq(atomic_load(&cb_n), 4);
}

static atomic_int cb_worker;

static void cb_where(braid_future *f, void *arg)
{
    (void)f;
    (void)arg;
    atomic_store(&cb_worker, braid_worker_id() + 1);
}

static int64_t main_future_cb_in_coroutine(void *arg)
{
    (void)arg;
    atomic_store(&cb_worker, 0);
    braid_future *f;
    cr_assert_eq(braid_future_new(&f), 0);
    cr_assert_eq(braid_future_on_done(f, cb_where, NULL), 0);
    cr_assert_eq(braid_future_fail(f, -EIO), 0);
    cr_assert_eq(atomic_load(&cb_worker), 1, "the callback did not run in resolve");
    braid_future_free(f);
    return 0;
}

Test(future, callbacks_run_on_the_completing_coroutine_also_on_failure, .timeout = 10)
{
    run_main(1, main_future_cb_in_coroutine, NULL);
}

Test(future, bad_arguments, .timeout = 10)
{
    braid_future *f;
    int64_t v;
    cr_assert_eq(braid_future_new(NULL), -EINVAL);
    cr_assert_eq(braid_future_resolve(NULL, 1), -EINVAL);
    cr_assert_eq(braid_future_fail(NULL, -EIO), -EINVAL);
    cr_assert_eq(braid_future_done(NULL), -EINVAL);
    cr_assert_eq(braid_future_await(NULL, &v), -EINVAL);
    cr_assert_eq(braid_future_await_until(NULL, &v, 0), -EINVAL);
    cr_assert_eq(braid_future_new(&f), 0);
    cr_assert_eq(braid_future_fail(f, 0), -EINVAL, "fail with 0");
    cr_assert_eq(braid_future_fail(f, EIO), -EINVAL, "fail with a positive errno");
    cr_assert_eq(braid_future_done(f), 0);
    cr_assert_eq(braid_future_resolve(f, 0), 0);
    braid_future_free(f);
    braid_future_free(NULL);
}

/* ====================================================================== */
/* cancellation racing a grant                                             */
/* ====================================================================== */

/* The grant wins (braid.h), but the cancellation must not be lost: a task
 * whose braid_cancel returned 1 has to see -ECANCELED in the raced call or
 * at its next waiting call. Today sync.c consumes the request in
 * braid__park and then returns the grant, so the cancel is never delivered
 * (both tests fail). Disabled until that is fixed; see the report. */
static atomic_int race_stage;
static int race_first, race_next;

static int64_t race_locker(void *arg)
{
    braid_mutex *x = arg;
    atomic_store(&race_stage, 1);
    race_first = braid_mutex_lock(x); /* granted by unlock, then cancelled */
    race_next = braid_sleep(20 * MS);
    if (race_first == 0)
        cr_assert_eq(braid_mutex_unlock(x), 0);
    return 0;
}

static int64_t main_race_mutex(void *arg)
{
    (void)arg;
    atomic_store(&race_stage, 0);
    braid_mutex *x;
    cr_assert_eq(braid_mutex_new(&x), 0);
    cr_assert_eq(braid_mutex_lock(x), 0);
    braid_task *t = spawn(race_locker, x);
    wait_count(&race_stage, 1); /* one worker: t is queued on x */
    cr_assert_eq(braid_mutex_unlock(x), 0); /* the grant: t is ready */
    cr_assert_eq(braid_cancel(t), 1);       /* recorded before t runs */
    join(t, 0);
    cr_assert_eq(race_first, 0, "the grant wins: lock returned %d", race_first);
    cr_assert_eq(race_next, -ECANCELED, "the cancel was lost (next waiting call: %d)",
                 race_next);
    braid_mutex_free(x);
    return 0;
}

Test(cancel_race, mutex_grant_then_cancel_delivers_the_cancel_later, .timeout = 10)
{
    run_main(1, main_race_mutex, NULL);
}

static int64_t race_cond_waiter(void *arg)
{
    (void)arg;
    cr_assert_eq(braid_mutex_lock(cw_x), 0);
    atomic_store(&race_stage, 1);
    race_first = braid_cond_wait(cw_c, cw_x); /* notified, cancelled re-acquiring */
    cr_assert_eq(braid_mutex_unlock(cw_x), 0, "cond_wait returned without the mutex");
    race_next = braid_sleep(20 * MS);
    return 0;
}

static int64_t main_race_cond(void *arg)
{
    (void)arg;
    atomic_store(&race_stage, 0);
    cr_assert_eq(braid_mutex_new(&cw_x), 0);
    cr_assert_eq(braid_cond_new(&cw_c), 0);
    braid_task *t = spawn(race_cond_waiter, NULL);
    wait_count(&race_stage, 1);
    cr_assert_eq(braid_mutex_lock(cw_x), 0); /* t is in cond_wait */
    cr_assert_eq(braid_cond_notify(cw_c, 1), 1);
    cr_assert_eq(braid_sleep(10 * MS), 0);   /* t now waits for the mutex */
    cr_assert_eq(braid_cancel(t), 1);
    cr_assert_eq(braid_sleep(10 * MS), 0);
    cr_assert_eq(braid_mutex_unlock(cw_x), 0);
    join(t, 0);
    /* asyncio's Condition.wait re-acquires, then re-raises CancelledError. */
    cr_assert(race_first == -ECANCELED || race_next == -ECANCELED,
              "the cancel was lost: cond_wait %d, next waiting call %d", race_first, race_next);
    braid_cond_free(cw_c);
    braid_mutex_free(cw_x);
    return 0;
}

Test(cancel_race, cond_cancel_while_reacquiring_is_delivered, .timeout = 10)
{
    run_main_1_and_2(main_race_cond, NULL);
}
